// checksums.sha256 in the format `sha256sum -c` reads: "<hex>  <name>" per line.
// Names with a backslash or newline use sha256sum's escaped form.

export interface ChecksumEntry {
  sha256: string;
  name: string;
}

export function formatChecksumLine(entry: ChecksumEntry): string {
  if (/[\\\n\r]/.test(entry.name)) {
    const escaped = entry.name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    return `\\${entry.sha256}  ${escaped}\n`;
  }
  return `${entry.sha256}  ${entry.name}\n`;
}

export function formatChecksums(entries: ChecksumEntry[]): string {
  return entries.map(formatChecksumLine).join('');
}

export function parseChecksums(text: string): ChecksumEntry[] {
  const entries: ChecksumEntry[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    const escaped = raw.startsWith('\\');
    const line = escaped ? raw.slice(1) : raw;
    const m = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
    if (!m) throw new Error(`not a sha256sum line: ${JSON.stringify(raw.slice(0, 100))}`);
    let name = m[2]!;
    if (escaped) name = name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
    entries.push({ sha256: m[1]!, name });
  }
  return entries;
}
