// The Runtime API's floor on this machine (bench only, never shipped): the least a runtime can do per
// invocation, GET /next and POST /response over one keep-alive loopback socket with blocking calls,
// echoing the event; no HTTP library, no logging, no metrics. `make bench` compiles it (cc -O2) and
// measures its process CPU per invocation beside `bootstrap`'s `test.echo`, so the report can say how
// much of the runtime's per-invocation CPU is the protocol's own (two exchanges through the kernel).
#define _GNU_SOURCE  // memmem
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 20];
static size_t have;  // bytes in buf

// Reads one response: headers, then Content-Length bytes of body. Returns the body's offset in buf.
static size_t read_response(int fd, size_t *body_len, char *request_id, size_t id_cap) {
    have = 0;
    char *end = NULL;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n <= 0) exit(1);
        have += (size_t)n;
    }
    size_t header_len = (size_t)(end - buf) + 4, length = 0;
    if (request_id) request_id[0] = 0;
    for (char *line = buf; line < end;) {
        char *eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (!eol) break;
        if (!strncasecmp(line, "Content-Length:", 15)) length = strtoul(line + 15, NULL, 10);
        if (request_id && !strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30)) {
            char *v = line + 30;
            while (*v == ' ') v++;
            size_t n = (size_t)(eol - v) < id_cap - 1 ? (size_t)(eol - v) : id_cap - 1;
            memcpy(request_id, v, n);
            request_id[n] = 0;
        }
        line = eol + 2;
    }
    while (have < header_len + length) {
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n <= 0) exit(1);
        have += (size_t)n;
    }
    *body_len = length;
    return header_len;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) exit(1);
        p += k;
        n -= (size_t)k;
    }
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) return 2;
    char host[256];
    snprintf(host, sizeof host, "%s", api);
    char *colon = strrchr(host, ':');
    if (!colon) return 2;
    *colon = 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &addr.sin_addr) != 1) return 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr)) return 1;
    static char request[1 << 20], id[128];
    for (;;) {
        int n = snprintf(request, sizeof request, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
        send_all(fd, request, (size_t)n);
        size_t length;
        size_t at = read_response(fd, &length, id, sizeof id);
        n = snprintf(request, sizeof request,
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n\r\n",
                     id, api, length);
        if ((size_t)n + length > sizeof request) return 1;
        memcpy(request + n, buf + at, length);
        send_all(fd, request, (size_t)n + length);
        read_response(fd, &length, NULL, 0);
    }
}
