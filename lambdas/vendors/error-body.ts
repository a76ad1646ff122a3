import { jsonOrUndefined } from './http';

/**
 * The message of a vendor's error body: what `read` finds in its JSON, else the body as text with
 * HTML tags dropped (a proxy's or web server's error page), trimmed to 200 characters. Bounded either
 * way, because the body is the vendor's (or whoever answers in its place) to choose.
 */
export function errorBodyText(body: string, read: (json: unknown) => string | undefined): string {
  const json = jsonOrUndefined(body);
  const found = json === undefined ? undefined : read(json);
  if (found !== undefined) return found.slice(0, 500);
  return body
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** Reads a string field of a JSON error object (`message`, `detail`, `error_msg`). */
export function stringField(name: string): (json: unknown) => string | undefined {
  return (json) => {
    const value = (json as Record<string, unknown> | null)?.[name];
    return typeof value === 'string' ? value : undefined;
  };
}
