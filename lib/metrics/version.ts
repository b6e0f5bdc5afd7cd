/** The package's version, read once from its package.json ('unknown' if unreadable). */
import * as fs from 'node:fs';
import * as path from 'node:path';

let version: string | undefined;

export function packageVersion(): string {
  if (version === undefined) {
    try {
      // dist/<area>/version.js and lib/<area>/version.ts both sit two levels below the package root.
      const file = path.join(__dirname, '..', '..', 'package.json');
      version = (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
