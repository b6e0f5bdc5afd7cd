/**
 * Help texts of the hub client commands (provide, call, publish, subscribe,
 * broadcast, listen, explore); docs/cli.md mirrors them.
 */

const CONNECTION = `Connection:
  -H, --hub ADDR            the hub (default: $COMM_IPC_SOCKET, else
                            $XDG_RUNTIME_DIR/comm-ipc.default.sock, else /tmp/comm-ipc.$USER.sock):
                              /run/app/hub.sock, ./hub.sock   a Unix socket (a path has a "/")
                              unix:PATH                       a Unix socket
                              HOST:PORT, tcp://HOST:PORT      TCP ([::1]:PORT for IPv6)
                              tls://HOST:PORT                 TLS (as --tls)
                            a bare word (localhost, hub.sock) is refused unless such a file exists
      --tls                 TLS to HOST:PORT, verified against the system CAs
      --tls-ca FILE         TLS to HOST:PORT, verified against this CA (PEM)
      --secret-file FILE    the hub's connection secret (first line of FILE)
      --secret-env VAR      the hub's connection secret from the environment variable VAR
      --password-file FILE  the channel's password (first line of FILE)
      --password-env VAR    the channel's password from the environment variable VAR
      --client-id ID        our member id (default: a random one)
  Secrets are never taken on the command line (other users can read it).`;

const EXIT = `Exit codes:
  0  success                      6  permission denied (a file option)
  1  failure (an error answer,    7  the hub cannot be reached, or went away
     no provider, ...)            8  refused: connection secret or channel password
  2  usage error
  3  timeout
`;

export const PROVIDE_HELP = `Usage: pipe-io-server provide --channel C --event E [options] -- COMMAND [ARGS...]

Runs COMMAND as a plugin that provides the event E in channel C on a running
hub, until SIGINT or SIGTERM (exit 0). The plugin talks JSON lines on its
pipes ($PIPE_IO_READ_PIPE, $PIPE_IO_WRITE_PIPE; docs/hub-plugins.md): in line
mode each call's data is one line and its next line is the result (answer
every line with one line; {"$error": "text"} fails the call).
Prints "providing C:E as ID (MODE mode)" on stdout once the plugin has run for
half a second; the plugin's stdout and stderr go to stderr, and so does every
exit of the plugin (with its code or signal). A crashed plugin is restarted
with backoff; its calls in flight get error answers. In line mode a plugin
that misses an answer (its call times out) or writes a line no call asked for
is restarted too: no answer ever reaches the wrong caller.

Options:
  -c, --channel C       the channel (required)
  -e, --event E         the event (required in line mode)
  -g, --group G         serve as a named group: the hub event is G.E
  -n, --instances N     run N copies as one load-balanced group (default 1)
  -m, --mode MODE       line (default) or rpc (request ids, streams, call-outs)
  -s, --stream          rpc mode: register E as a stream (the plugin answers with chunks)
  -p, --pipeline N      line mode: calls written to a copy before it answered the earlier
                        ones (default 1; more is faster, for plugins that answer every line)
  -t, --timeout MS      per call: answer PIPEIO_ERR_TIMEOUT after MS ms without an answer (default 30000; 0 never)
      --no-restart      do not restart a crashed plugin (the command then ends, exit 1)
${CONNECTION}
  -h, --help            show this help

${EXIT}  1 also when the plugin ended for good (0 if it exited 0); 7 when the hub went away;
  126 COMMAND cannot be executed; 127 COMMAND not found.
`;

export const CALL_HELP = `Usage: pipe-io-server call --channel C --event E [options] [JSON]

Calls the event E in channel C with JSON as data (default null) and prints the
result's data as one line of JSON. An error answer goes to stderr (exit 1).
An event the hub lists as a stream is called as one: one line per chunk.

Options:
  -c, --channel C       the channel (required)
  -e, --event E         the event (required)
  -s, --stream          call as a stream (one line per chunk) even if the hub does not list E as one
      --full            print the whole answer (envelope) instead of its data
  -t, --timeout MS      give up after MS ms (for --stream: between chunks; default 30000; 0 never)
${CONNECTION}
  -h, --help            show this help

${EXIT}`;

export const PUBLISH_HELP = `Usage: pipe-io-server publish --channel C --topic T [options] [JSON...]

Declares the topic T in channel C (this member becomes its owner) and
publishes each JSON argument to its subscribers; without arguments, each line
of stdin (one JSON value per line) until end of input. Exits 0 once the hub
has taken every publication (a round trip after the last); a publication the
hub refuses ends it with exit 1 and the hub's reason. With --wait it first
waits until the topic has a subscriber (the hub's "first subscriber" notice;
\`pipe-io-server subscribe\` renews its subscription when the topic is
declared after it subscribed, so either may start first).

Options:
  -c, --channel C       the channel (required)
  -T, --topic T         the topic (comm-ipc subscription name; required)
  -w, --wait            wait for a subscriber before publishing
  -t, --timeout MS      give up waiting for it after MS ms (exit 3; default 30000; 0 never)
${CONNECTION}
  -h, --help            show this help

${EXIT}`;

export const SUBSCRIBE_HELP = `Usage: pipe-io-server subscribe --channel C --topic T [options]

Subscribes to the topic T in channel C and prints each publication's data as
one line of JSON, until SIGINT/SIGTERM (exit 0), --count publications, or the
hub going away (exit 7). Lines are flushed one by one: fit for | grep --line-buffered.
Prints "subscribed" on stderr once subscribed.

Options:
  -c, --channel C       the channel (required)
  -T, --topic T         the topic (required)
  -n, --count N         exit 0 after N publications
      --full            print the whole message (envelope) instead of its data
${CONNECTION}
  -h, --help            show this help

${EXIT}`;

export const BROADCAST_HELP = `Usage: pipe-io-server broadcast --channel C --event E [options] [JSON...]

Broadcasts each JSON argument as event E to everyone who opened channel C;
without arguments, each line of stdin (one JSON value per line).

Options:
  -c, --channel C       the channel (required)
  -e, --event E         the event name (required)
${CONNECTION}
  -h, --help            show this help

${EXIT}`;

export const LISTEN_HELP = `Usage: pipe-io-server listen --channel C [options]

Opens channel C and prints every broadcast (and hub notice) it receives as one
line of JSON {"event":..., "sender_id":..., "data":...}, until SIGINT/SIGTERM
(exit 0) or --count messages. Prints "listening" on stderr once open.

Options:
  -c, --channel C       the channel (required)
  -e, --event E         only this event
  -n, --count N         exit 0 after N messages
${CONNECTION}
  -h, --help            show this help

${EXIT}`;

export const EXPLORE_HELP = `Usage: pipe-io-server explore --channel C [options]

Prints what channel C offers, as JSON: {"channel", "events", "subscriptions",
"members"}: each event with its provider ("owner"), "is_stream" and its
schemas ("parameters", "returns"); each topic with its owner and schema; each
member with its id, mode ("client", "plugin", "bridge", ...) and whether it is
on this hub ("is_local", "path").

Options:
  -c, --channel C       the channel (required)
      --compact         one line instead of indented JSON
${CONNECTION}
  -h, --help            show this help

${EXIT}`;
