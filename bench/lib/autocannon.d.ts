/** The part of autocannon's API the bench uses (the package ships no types). */
declare module 'autocannon' {
  interface Options {
    url: string
    method?: 'GET' | 'POST'
    body?: string
    headers?: Record<string, string>
    connections?: number
    duration?: number
    reconnectRate?: number
    tlsOptions?: Record<string, unknown>
  }
  interface Result {
    '2xx': number
    non2xx: number
    errors: number
    timeouts: number
    duration: number
    latency: { p50: number; p99: number; average: number }
    requests: { average: number; total: number }
  }
  function autocannon(options: Options): Promise<Result>
  export default autocannon
}
