/**
 * The path a request names, for routing and the log. Pure.
 *
 * Origin-form (`/ehi?x`) loses its query. Absolute-form (`https://any.example/ehi`), which a
 * server must accept (RFC 9112, 3.2.2), keeps only its path: the authority never picks an
 * upstream, there is one host. Nothing is decoded or normalised, so `/ehi/../ehi`, `/EHI` and
 * `/eh%69` are not `/ehi`.
 */
export function requestPath(target: string): string {
  let start = 0
  if (!target.startsWith('/')) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(target)
    if (scheme) {
      // The authority ends at the first '/' or '?'; without a '/' before any query, the path is '/'.
      const rest = target.slice(scheme[0].length)
      const slash = rest.search(/[/?]/)
      if (slash < 0 || rest[slash] === '?') return '/'
      start = scheme[0].length + slash
    }
  }
  const query = target.indexOf('?', start)
  return query < 0 ? (start === 0 ? target : target.slice(start)) : target.slice(start, query)
}
