/**
 * JSON lines: one compact JSON text per line, `\n`-terminated, UTF-8. This is
 * the wire format of the Unix-socket server/client and of FifoChannel, and
 * the one codechu-ipc speaks. Pure and I/O-free except `decodeStream`, which
 * only consumes an async-iterable of chunks.
 */
import { pipeIOError, PipeIOError } from '../errors';
import { LineSplitter } from '../framing/line-splitter';

/** Default longest accepted line for JSON lines: 16 MiB (newline excluded). */
export const DEFAULT_JSON_MAX_LINE_LENGTH = 16 * 1024 * 1024;

export interface JsonLineDecoderOptions {
  /**
   * Longest accepted line in bytes, newline excluded. A longer line is
   * skipped up to its newline and reported as `PIPEIO_ERR_LINE_TOO_LONG`.
   * @default 16777216 (16 MiB)
   */
  maxLineLength?: number;
}

export interface DecodeStreamOptions extends JsonLineDecoderOptions {
  /**
   * Called with a `PIPEIO_ERR_INVALID_JSON` or `PIPEIO_ERR_LINE_TOO_LONG`
   * error for each bad line; the stream goes on with the next line. Without
   * it, bad lines are skipped silently.
   */
  onError?: (err: PipeIOError) => void;
}

const BLANK = /^[ \t\r]*$/;

/**
 * Incremental JSON-line decoder, reusable across chunks: `push()` any chunk
 * boundaries, it calls `onValue` for each complete, valid line and `onError`
 * for each bad one (invalid JSON or too long). A bad line never stops the
 * lines after it. Blank lines (spaces, tabs, CR) are ignored.
 */
export class JsonLineDecoder {
  private readonly splitter: LineSplitter;
  private readonly onValue: (value: unknown) => void;
  private readonly onError: (err: PipeIOError) => void;

  constructor(
    onValue: (value: unknown) => void,
    onError: (err: PipeIOError) => void,
    options: JsonLineDecoderOptions = {},
  ) {
    if (typeof onValue !== 'function') throw new TypeError('onValue must be a function');
    if (typeof onError !== 'function') throw new TypeError('onError must be a function');
    this.onValue = onValue;
    this.onError = onError;
    this.splitter = new LineSplitter(
      (line) => this.line(line),
      (length) => this.overflow(length),
      { maxLineLength: options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH },
    );
  }

  /** Longest accepted line in bytes. */
  get maxLineLength(): number {
    return this.splitter.maxLineLength;
  }

  /** Feeds one chunk; calls back synchronously for each complete line. */
  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  /** End of input: a last unterminated line is decoded too. */
  end(): void {
    this.splitter.end();
  }

  /** Forgets any partial line (e.g. after the source was replaced). */
  discard(): void {
    this.splitter.discard();
  }

  private line(line: Buffer): void {
    const text = line.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (BLANK.test(text)) return;
      const preview = text.length > 80 ? `${text.slice(0, 80)}...` : text;
      this.onError(pipeIOError('PIPEIO_ERR_INVALID_JSON', `invalid JSON line: ${preview}`, { cause: err }));
      return;
    }
    this.onValue(value);
  }

  private overflow(length: number): void {
    this.onError(
      pipeIOError(
        'PIPEIO_ERR_LINE_TOO_LONG',
        `JSON line of ${length}+ bytes exceeds maxLineLength ${this.splitter.maxLineLength}`,
      ),
    );
  }
}

/**
 * Encodes one value as compact JSON plus `\n`. JSON escapes newlines inside
 * strings, so the result is always exactly one line.
 * @throws TypeError if `value` has no JSON text (undefined, a function, a symbol) or is cyclic.
 */
export function encodeJsonLine(value: unknown): Buffer {
  const text = JSON.stringify(value);
  if (typeof text !== 'string') throw new TypeError(`cannot encode ${typeof value} as JSON`);
  return Buffer.from(`${text}\n`, 'utf8');
}

/**
 * Decodes an async-iterable of chunks (a `Readable`, a socket...) into an
 * async iterator of values, whatever the chunk boundaries. Bad lines go to
 * `options.onError` and the stream goes on. Ends when the source ends; an
 * error of the source itself is thrown from the iterator.
 */
export async function* decodeJsonLineStream(
  source: AsyncIterable<Buffer | string>,
  options: DecodeStreamOptions = {},
): AsyncGenerator<unknown, void, undefined> {
  const ready: unknown[] = [];
  const onError = options.onError ?? (() => undefined);
  const decoder = new JsonLineDecoder((value) => ready.push(value), onError, options);
  for await (const chunk of source) {
    decoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    while (ready.length > 0) yield ready.shift();
  }
  decoder.end();
  while (ready.length > 0) yield ready.shift();
}

/**
 * The JSON-line protocol as one object (codechu-ipc's `JsonLineProtocol`):
 * `encode`, `decodeStream`, and `decoder()` for an incremental decoder. The
 * instance carries the line-length limit.
 */
export class JsonLineProtocol {
  /** Longest accepted line in bytes, newline excluded. */
  readonly maxLineLength: number;

  /** @param options.maxLineLength Longest accepted line in bytes. @default 16777216 (16 MiB) */
  constructor(options: JsonLineDecoderOptions = {}) {
    const max = options.maxLineLength ?? DEFAULT_JSON_MAX_LINE_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError('options.maxLineLength must be a positive integer');
    }
    this.maxLineLength = max;
  }

  /** See {@link encodeJsonLine}. */
  encode(value: unknown): Buffer {
    return encodeJsonLine(value);
  }

  /** See {@link decodeJsonLineStream}; uses this protocol's maxLineLength. */
  decodeStream(
    source: AsyncIterable<Buffer | string>,
    options: Omit<DecodeStreamOptions, 'maxLineLength'> = {},
  ): AsyncGenerator<unknown, void, undefined> {
    return decodeJsonLineStream(source, { ...options, maxLineLength: this.maxLineLength });
  }

  /** A fresh incremental decoder with this protocol's maxLineLength. */
  decoder(onValue: (value: unknown) => void, onError: (err: PipeIOError) => void): JsonLineDecoder {
    return new JsonLineDecoder(onValue, onError, { maxLineLength: this.maxLineLength });
  }
}
