import Table from 'cli-table3';

/** Prints rows as a boxed table (cli-table3 handles widths and colour-free output). */
export function printTable(head: string[], rows: (string | number)[][]): void {
  const table = new Table({ head, style: { head: [], border: [] } });
  table.push(...rows.map((r) => r.map(String)));
  console.log(table.toString());
}
