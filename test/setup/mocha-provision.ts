/**
 * Required by .mocharc.json after ts-node/register: provisions the machine
 * (test/setup/provision.ts) and prints its one report before mocha loads any
 * test file, so every suite can ask what is there (python-env.ts, tools.ts).
 * The interpreter is exported as PIO_PYTHON to every child process (the
 * examples and CLI children read it).
 */
import { formatReport, provision, remember } from './provision';

const result = provision({ install: true });
remember(result);
process.stderr.write(formatReport(result));
if (result.python.python) process.env['PIO_PYTHON'] = result.python.python;
