/* `paygate demo`: for now one server on loopback with the built-in routes and a landing page;
 * later it starts the banks, the platform and the shop. Stops cleanly on SIGINT/SIGTERM. */
#include "cli/commands.h"
#include "http/server.h"
/* after errors.h: log.h defines PAY_ERROR, which errors.def also uses */
#include "core/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char landing_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>paygate demo</title><link rel=\"stylesheet\" href=\"/static/paygate.css\"></head>\n"
    "<body><main><h1>paygate demo</h1>"
    "<p>paygate demo: bank, platform and shop are coming.</p>"
    "<p>This server answers <a href=\"/healthz\">/healthz</a> and "
    "<a href=\"/metrics\">/metrics</a>.</p></main></body></html>\n";

static enum pay_err h_landing(struct pay_http_request *req, struct pay_error *err)
{
    pay_http_respond_html(req, 200, landing_page);
    return PAY_ERR_OK;
}

static void demo_usage(void)
{
    printf("usage: paygate demo [--port N] [--web-root DIR]\n\n"
           "Starts the demo on 127.0.0.1 (default port 8080; 0 picks a free one) and prints\n"
           "its URL. Today it serves a landing page, /healthz and /metrics; the banks, the\n"
           "platform and the shop will join it. Ctrl-C or SIGTERM stops it cleanly.\n"
           "--web-root DIR   templates/ and static/ (default: ./web when it exists)\n");
}

/* Parses the options; returns 0, or 2 after printing what was wrong. */
static int demo_args(int argc, char **argv, long *port, const char **web_root)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            *port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || *port < 0 || *port > 65535) {
                fprintf(stderr, "paygate demo: bad port '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--web-root") == 0 && i + 1 < argc) {
            *web_root = argv[++i];
        } else {
            fprintf(stderr, "paygate demo: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    return 0;
}

int pay_cmd_demo(int argc, char **argv)
{
    if (pay_cli_wants_help(argc, argv)) {
        demo_usage();
        return 0;
    }
    long port = 8080;
    struct stat st;
    const char *web_root = stat("web/static", &st) == 0 ? "web" : NULL;
    if (demo_args(argc, argv, &port, &web_root) != 0)
        return 2;
    pay_http_signals_block(); /* before any server thread exists */
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%ld", port);
    struct pay_http_config cfg = {.name = "demo", .listen = listen, .web_root = web_root};
    const struct pay_http_route routes[] = {
        {"GET", "/", PAY_HTTP_PAGE, PAY_HTTP_BODY_RAW, h_landing, NULL},
    };
    struct pay_http_server *srv = NULL;
    struct pay_error err = {0};
    if (pay_http_server_new(&cfg, &srv, &err) != PAY_ERR_OK ||
        pay_http_server_add_routes(srv, routes, 1, &err) != PAY_ERR_OK ||
        pay_http_server_start(srv, &err) != PAY_ERR_OK) {
        fprintf(stderr, "paygate demo: %s: %s\n", pay_err_name(err.code),
                err.detail[0] ? err.detail : pay_err_message(err.code));
        pay_http_server_free(srv);
        return 1;
    }
    printf("paygate demo: listening on %s (Ctrl-C stops)\n", pay_http_server_url(srv));
    fflush(stdout);
    int sig = pay_http_signals_wait();
    PAY_INFO("demo.stopping", "signal=%d", sig);
    pay_http_server_free(srv);
    printf("paygate demo: stopped\n");
    return 0;
}
