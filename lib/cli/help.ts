/**
 * Help texts of `pipe-io-server` and its commands (kept together so that
 * they stay consistent; docs/cli.md mirrors them).
 */

const EXIT_CODES = `Exit codes:
  0  success            3  timeout             6  permission denied
  1  runtime failure    4  pipe does not exist
  2  usage error        5  path is not a FIFO
`;

import { HTTP_OPTIONS_HELP } from './gateway-help';

/** Every exit code of the command line (the main --help). */
const ALL_EXIT_CODES = `Exit codes:
  0  success                  5  path is not a FIFO
  1  runtime failure          6  permission denied
  2  usage error              7  hub commands: the hub cannot be reached, or went away
  3  timeout                  8  hub commands: refused (connection secret, channel password)
  4  pipe does not exist
  exec: the plugin's own exit status (128+N: killed by signal N); 126 cannot execute; 127 not found
  provide: 126 cannot execute COMMAND; 127 COMMAND not found
`;

export const MAIN_HELP = `Usage: pipe-io-server <command> [options]

Named-pipe (FIFO) message servers and plugins from the shell.

Commands:
  serve      run an echo server on a pair of named pipes
  exec       run a program as a plugin on a fresh pipe pair and bridge it to stdin/stdout
  send       write messages (lines) to a pipe, then exit
  recv       read messages (lines) from a pipe, then exit
  hub        run a comm-ipc-compatible message hub (Unix socket, TCP, TLS)
  provide    run a program as a provider of an event on a hub (JSON lines on its pipes)
  call       call an event on a hub and print the answer
  publish    publish JSON values to a topic of a hub channel
  subscribe  print what is published to a topic of a hub channel
  broadcast  broadcast JSON values to a hub channel
  listen     print what is broadcast in a hub channel
  explore    print the events, topics and members of a hub channel
  top        watch a hub's live figures (rates, latency, connections) in the terminal
  gateway    serve a hub over HTTP: REST, SSE, WebSocket, files, OpenAPI

Options:
  -h, --help     show help (also: pipe-io-server <command> --help)
  -v, --version  print the version

${ALL_EXIT_CODES}`;

export const SERVE_HELP = `Usage: pipe-io-server serve [--in PATH --out PATH | --dir DIR] [options]

Runs an echo server on a pair of named pipes until SIGINT or SIGTERM (exit 0,
pipes removed). Clients write lines to the IN pipe and read replies from the
OUT pipe; it prints both paths and a bash line that talks to it.

Options:
  -i, --in PATH     the pipe clients write (the server reads)
  -o, --out PATH    the pipe clients read (the server writes)
  -d, --dir DIR     use DIR/in and DIR/out (DIR is created 0700 if missing)
                    default DIR: $TMPDIR/pipe-io-server-$UID (e.g. /tmp/pipe-io-server-1000)
  -m, --mode OCTAL  FIFO permission bits (default 600)
  -q, --quiet       print nothing but errors
  -h, --help        show this help

${EXIT_CODES}  1 also when another server is already listening on the pipes.
`;

export const EXEC_HELP = `Usage: pipe-io-server exec [options] -- COMMAND [ARGS...]

Runs COMMAND as a plugin on a fresh pipe pair (it finds the pipes in the
environment: it reads $PIPE_IO_READ_PIPE and writes $PIPE_IO_WRITE_PIPE).
Every line of stdin is sent to the plugin; every message it writes is printed
on stdout. The plugin's own stdout and stderr go to stderr.
When stdin ends, replies are still printed until the plugin exits or has been
silent for --linger ms; then the plugin is stopped (SIGTERM, SIGKILL after
--grace ms). SIGINT/SIGTERM stop the plugin the same way.

Options:
  -r, --restart         restart the plugin when it crashes (exponential backoff)
      --max-restarts N  give up after N restarts in a row (default 5; implies --restart)
  -l, --linger MS       after the end of stdin, stop once the plugin has been
                        silent this long (default 1000)
  -g, --grace MS        time between SIGTERM and SIGKILL (default 2000)
  -h, --help            show this help

Exit status:
  the plugin's own exit status when it exits by itself (128+N if signal N killed it)
  0    the plugin was stopped by exec (stdin ended, SIGINT/SIGTERM)
  126  COMMAND cannot be executed     127  COMMAND not found
  1    runtime failure                2    usage error
`;

export const SEND_HELP = `Usage: pipe-io-server send [--pipe PATH] [--timeout MS] [MESSAGE...]

Writes each MESSAGE as one line to the pipe PATH (a server's in pipe), or, with
no MESSAGE, all of stdin (a final newline is added if missing). Waits for a
reader to open the pipe, at most --timeout ms.

Options:
  -p, --pipe PATH     the pipe to write (default: $PIPE_IO_WRITE_PIPE)
  -t, --timeout MS    give up after MS milliseconds, exit 3 (default 10000; 0 = never)
  -h, --help          show this help

${EXIT_CODES}`;

export const RECV_HELP = `Usage: pipe-io-server recv [--pipe PATH] [--timeout MS] [--count N]

Reads N messages (lines) from the pipe PATH (a server's out pipe) and prints
them, one per line. Reads byte by byte, so it never consumes more than N
messages: the next recv gets the next ones. Waits for a writer; once one was
seen, end-of-file (the server stopped) ends recv with exit 1.

Options:
  -p, --pipe PATH     the pipe to read (default: $PIPE_IO_READ_PIPE)
  -n, --count N       messages to read (default 1)
  -t, --timeout MS    give up after MS milliseconds, exit 3 (default 10000; 0 = never)
  -h, --help          show this help

${EXIT_CODES}`;

export const HUB_HELP = `Usage: pipe-io-server hub [--socket PATH] [--tcp HOST:PORT [--tls-cert F --tls-key F]] [options]

Runs a comm-ipc-compatible message hub in the foreground until SIGINT or
SIGTERM (exit 0, its socket file removed). Prints one line per listener and,
with --nats, one per change of the NATS link and of the other hubs.
Without --socket and --tcp it listens on comm-ipc's default socket:
$COMM_IPC_SOCKET, else $XDG_RUNTIME_DIR/comm-ipc.default.sock, else
/tmp/comm-ipc.$USER.sock. The socket is created 0600.
Secrets come from files or environment variables, never from the command
line (every user of the machine can read it).

Listening:
  -s, --socket PATH            a Unix socket
  -t, --tcp HOST:PORT          TCP (port 0: any free port, printed)
      --tls-cert FILE          serve TLS on the TCP port with this certificate (PEM)
      --tls-key FILE           and this key (PEM)
      --tls-client-ca FILE     require client certificates signed by this CA (PEM)
Security:
      --secret-file FILE       require the connection secret: the first line of FILE
      --secret-env VAR         ... or the value of the environment variable VAR
      --channel-passwords FILE channel passwords, one CHANNEL=PASSWORD per line
                               (blank lines and lines starting with # are skipped)
      --allow-bridges          accept comm-ipc bridges (mode "bridge") without a
                               connection secret (with one, they are accepted)
Identity and policies:
      --server-id ID           the hub's id (default srv-xxxxxxxx)
      --lb-policy P            least-active (default) | round-robin
      --channel-policy P       terminate (default) | promote
      --error-policy P         ignore (default) | raise | broadcast
Timeouts (ms):
      --idle-timeout MS        a connection may stay silent this long (default 60000)
      --data-timeout MS        the rest of a started frame may take this long (default 60000)
      --handshake-timeout MS   a new connection has this long to identify (default 10000)
Limits:
      --max-frame-size BYTES   largest frame (default 16777216); larger closes the connection
      --max-queue-bytes BYTES  unread bytes for one client before it is closed as slow (default 67108864)
      --max-pending-calls N    calls one client may have waiting for answers (default 65536)
      --max-connections N      connections at once; more are refused (default 10000)
      --max-partial-frame-bytes BYTES  what all frames still arriving may hold (default 268435456)
      --min-frame-read-bytes N  least average read size of a frame past 4096 reads (default 64; 0: off)
Federation through NATS (needs the package @nats-io/transport-node; docs/cluster.md):
      --nats URL[,URL...]      join the hubs of these NATS servers (repeatable)
      --nats-user USER         NATS user name
      --nats-pass-file FILE    its password: the first line of FILE
      --nats-pass-env VAR      ... or the environment variable VAR
      --nats-token-file FILE   a NATS token: the first line of FILE
      --nats-token-env VAR     ... or the environment variable VAR
      --nats-tls-ca FILE       verify the NATS servers against this CA (PEM)
      --nats-tls-cert FILE     client certificate for NATS (PEM)
      --nats-tls-key FILE      and its key (PEM)
      --cluster-prefix P       subject prefix: hubs with the same prefix share channels (default pipeio.hub)
      --cluster-heartbeat MS   between heartbeats (default 1000)
      --cluster-peer-timeout MS  a silent hub is dropped after this long (default 3000)
      --cluster-link-grace MS  how long our NATS link may be down before the other hubs are dropped (default 10000)
      --cluster-max-queue BYTES  bytes queued for other hubs while the link is down (default 67108864)
HTTP (one server: the gateway, then /metrics, /healthz, /readyz, /api/stats and the
dashboard at /; docs/gateway.md, docs/observability.md):
${HTTP_OPTIONS_HELP}
      --dashboard-calls     let the dashboard call events (read-only otherwise)
Output:
  -q, --quiet                  print nothing but errors
  -h, --help                   show this help

Exit codes:
  0  stopped by SIGINT/SIGTERM
  1  runtime failure (another hub already listens on the socket, the address
     is taken, the NATS package is missing, ...)
  2  usage error
  6  permission denied (a file option, the socket's directory)
`;
