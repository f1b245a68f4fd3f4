// An instant as people read it: in this machine's time zone, and in UTC.

const local = new Intl.DateTimeFormat('sv-SE', {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

/** `2026-03-01 03:00:00 GMT+1 (2026-03-01 02:00:00 UTC)`; '' for none. */
export function localAndUtc(date: Date | undefined): string {
  if (!date) return '';
  const utc = date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
  return `${local.format(date)} (${utc})`;
}
