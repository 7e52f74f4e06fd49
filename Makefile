# Thin wrapper around Meson for the README's two commands.
.PHONY: demo test check coverage build deps format clean screenshots

build:
	@scripts/deps.sh build
	@[ -f build/build.ninja ] || meson setup build
	@ninja -C build

demo: build
	@scripts/deps.sh demo
	./build/paygate demo

# Every test, in a normal and a sanitizer build (what CI runs).
test:
	@scripts/test.sh

# Normal build only: the quick loop while working.
check:
	@scripts/test.sh --quick

# Line and branch coverage of src/ per module (gcovr), in build-cov; HTML report there.
coverage:
	@scripts/coverage.sh

# The docs' screenshots, taken again by the page walk (docs/quickstart.md, "截图").
screenshots: build
	@scripts/doc-screenshots.sh build

format:
	@clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 'fuzz/*.[ch]')

clean:
	rm -rf build build-asan build-cov build*.log
