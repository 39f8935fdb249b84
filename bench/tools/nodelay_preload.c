// LD_PRELOAD shim that sets TCP_NODELAY on every TCP socket a program creates.
//
// Why: ApacheBench (`ab`), our cross-check witness, never sets TCP_NODELAY and writes each
// request as several TLS records. With Nagle on, its last small record waits for the ACK of the
// records before it, and the receiver (any server that just answered on that keep-alive
// connection) delays that ACK by up to 40 ms: ab then measures ~44 ms per request whatever the
// server, and caps a 64-connection run at ~1,450 requests/s. bench/run.sh builds this file with
// `cc -shared -fPIC -O2 -o nodelay.so nodelay_preload.c -ldl` and runs `LD_PRELOAD=nodelay.so ab`.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol) {
  static int (*real_socket)(int, int, int);
  if (real_socket == 0) real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int fd = real_socket(domain, type, protocol);
  if (fd >= 0 && (domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_STREAM) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort
  }
  return fd;
}
