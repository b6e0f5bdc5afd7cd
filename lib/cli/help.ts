/**
 * Help texts of `pipe-io-server` and its commands (kept together so that
 * they stay consistent; docs/cli.md mirrors them).
 */

const EXIT_CODES = `Exit codes:
  0  success            3  timeout             6  permission denied
  1  runtime failure    4  pipe does not exist
  2  usage error        5  path is not a FIFO
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

Options:
  -h, --help     show help (also: pipe-io-server <command> --help)
  -v, --version  print the version

${EXIT_CODES}`;

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
SIGTERM (exit 0, its socket file removed). Prints one line per listener.
Without --socket and --tcp it listens on comm-ipc's default socket:
$COMM_IPC_SOCKET, else $XDG_RUNTIME_DIR/comm-ipc.default.sock, else
/tmp/comm-ipc.$USER.sock. The socket is created 0600.

Options:
  -s, --socket PATH         listen on a Unix socket
  -t, --tcp HOST:PORT       listen on TCP (port 0: any free port, printed)
      --tls-cert FILE       serve TLS on the TCP port with this certificate (PEM)
      --tls-key FILE        and this key (PEM)
      --secret-file FILE    require the connection secret in FILE (one line)
      --server-id ID        the hub's id (default srv-xxxxxxxx)
      --lb-policy P         least-active (default) | round-robin
      --channel-policy P    terminate (default) | promote
      --error-policy P      ignore (default) | raise | broadcast
      --allow-bridges       accept comm-ipc bridges (mode "bridge") without a
                            connection secret (with one, they are accepted)
  -q, --quiet               print nothing but errors
  -h, --help                show this help

${EXIT_CODES}  1 also when another hub already listens on the socket.
`;
