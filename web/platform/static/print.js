// The receipt's Print button (a script file: the pages' CSP allows no inline script).
document.querySelectorAll('[data-print]').forEach((b) => {
  b.addEventListener('click', () => window.print());
});
