// Figures as people read them, shared by the dashboard page (bundled for the browser) and the status line.
// No Node API here: the page imports it.

/** 1536 → "1.5 KB"; `digits` formats the number (the page passes the reader's locale). */
export function formatBytes(n: number, digits: (value: number) => string = (value) => value.toFixed(1)): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${digits(value)} ${units[unit]}`;
}
