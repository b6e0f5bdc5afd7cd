/** Help text of `pipe-io-server gateway` (and the `--http` options `hub` shares). */
export const HTTP_OPTIONS_HELP = `      --http HOST:PORT      serve the HTTP gateway there (loopback unless you say otherwise)
  -c, --channel NAME        serve only these channels (repeat; default: any, opened on first use)
      --topic CHANNEL:TOPIC declare a topic, so it can be published to over HTTP (repeat)
      --token-file FILE     require "Authorization: Bearer <the token in FILE>" on every request
      --cors ORIGIN         allow cross-origin reads from ORIGIN (repeat; * for any); default: no CORS
      --prefix PATH         serve every route under PATH (e.g. /api)`;

export const GATEWAY_HELP = `Usage: pipe-io-server gateway --http HOST:PORT [--hub ADDR] [options]

Serves a hub on the web (docs/gateway.md) in the foreground until SIGINT or
SIGTERM. Routes: POST /channels/{channel}/{event} (call; SSE with
Accept: text/event-stream), GET /channels/{channel}/topics/{topic} (SSE),
POST the same (publish a declared --topic), GET|PUT /channels/{channel}/files/{event}
(download with Range | upload), GET /channels/{channel}/ws (WebSocket),
GET /openapi.json (the live OpenAPI 3.1 document).

Options:
${HTTP_OPTIONS_HELP}
      --hub ADDR            the hub: a socket path, unix:PATH, HOST:PORT, tcp://HOST:PORT or
                            tls://HOST:PORT (default: comm-ipc's default socket)
      --tls-ca FILE         verify a TLS hub against this CA (PEM)
      --secret-file FILE    the hub's connection secret (one line)
      --secret-env VAR      ... or the environment variable VAR
      --password-file CHANNEL=FILE   open CHANNEL with the password in FILE (repeat)
  -q, --quiet               print nothing but errors
  -h, --help                show this help

Exit codes: 0 stopped by a signal, 1 failure, 2 usage error.
`;
