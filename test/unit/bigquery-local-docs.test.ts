/**
 * docs/analysts.md lists the functions the local BigQuery endpoint runs; the translator's table is
 * the truth (anything else is refused). A function added to or dropped from the table must show in
 * the page analysts read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TRANSLATED_FUNCTIONS } from '../../shared/bigquery-local';

it('docs/analysts.md lists exactly the functions the translator runs', () => {
  const page = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'analysts.md'), 'utf8');
  const block = /<!-- functions:start -->\n([\s\S]*?)\n<!-- functions:end -->/.exec(page);
  expect(block).not.toBeNull();
  const listed = block![1].split(/,\s*/).map((name) => name.trim());
  expect(listed).toEqual([...TRANSLATED_FUNCTIONS]);
});
