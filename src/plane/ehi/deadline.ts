/**
 * Milliseconds left for the host. A class deadline runs from TCP accept for the first request on
 * a connection (Thredd's timer includes its TCP and TLS handshake, and Thredd opens a connection
 * per message) and from the request's arrival for later requests on a kept-alive connection.
 * Zero or less: Thredd has given up, so the message is not forwarded at all. Pure.
 */
export function remainingDeadlineMs(classDeadlineMs: number, spentMs: number): number {
  return Math.floor(classDeadlineMs - spentMs)
}
