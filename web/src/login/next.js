// Where the login page goes afterwards: the `next` query parameter, but only a path of this
// origin (starting with one `/`), never another site and never the login page itself. Pure, so
// the unit tests run it in Node.

const LOGIN_PATH = '/login.html';

/**
 * The page to go to after signing in: `next` as path + query + hash if it is a same-origin
 * relative path, else `/`. `origin` is the page's own (`location.origin`).
 */
export function safeNext(next, origin) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  let url;
  try {
    url = new URL(next, origin);
  } catch {
    return '/';
  }
  // The URL parser drops tabs and newlines and reads backslashes as slashes: what it made of
  // the text decides, not the text.
  if (url.origin !== new URL(origin).origin) return '/';
  if (url.pathname === LOGIN_PATH) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
