/** Literal spellings the parser does not decode as BigQuery means them. */

/** A BYTES literal's bytes from its source text: \\xHH and octal escapes are single bytes (the parser would UTF-8 encode them). */
export function bytesOf(text: string): Buffer {
  const m = /^([bBrR]+)('''|"""|'|")([\s\S]*)\2$/.exec(text);
  if (!m) throw new SyntaxError(`bad BYTES literal ${text}`);
  if (/r/i.test(m[1])) return Buffer.from(m[3], 'utf8');
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '`': 96, '?': 63 };
  const out: number[] = [];
  const body = m[3];
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      out.push(...Buffer.from(body[i], 'utf8'));
      continue;
    }
    const e = body[++i];
    if (e === 'x' || e === 'X') {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      out.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else if (e in simple) out.push(simple[e]);
    else throw new SyntaxError(`unsupported escape \\${e} in BYTES literal`);
  }
  return Buffer.from(out);
}
