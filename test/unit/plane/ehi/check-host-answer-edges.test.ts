/** Edge shapes of host answers, each with the problem code an operator should see. */
import { describe, expect, it } from 'vitest'
import { checkHostAnswer } from '../../../../src/plane/ehi/check-host-answer.ts'
import { validateConfig } from '../../../../src/config/load-config.ts'
import { compileRuntime } from '../../../../src/runtime/compile-runtime.ts'
import type { ConfigError } from '../../../../src/config/config-issues.ts'
import { APPROVAL_CODES } from '../../../../src/plane/ehi/failure-answer.ts'

const answer = (body: string) => ({
  status: 200,
  headers: { 'content-length': String(body.length) },
  body: Buffer.from(body),
})
const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/'

describe('checkHostAnswer edges', () => {
  it.each([
    { name: 'an empty XML answer', body: '', format: 'xml' as const, problem: 'malformed' },
    { name: 'an empty JSON answer', body: '   ', format: 'json' as const, problem: 'malformed' },
    {
      name: 'a JSON array',
      body: '[{"Acknowledgement":"1"}]',
      format: 'json' as const,
      problem: 'malformed',
    },
    {
      name: 'JSON to an XML request',
      body: '{"Acknowledgement":"1"}',
      format: 'xml' as const,
      problem: 'wrong_format',
    },
    { name: 'XML to a JSON request', body: '<a/>', format: 'json' as const, problem: 'wrong_format' },
  ])('reports $name as $problem', ({ body, format, problem }) => {
    expect(checkHostAnswer(answer(body), format, 'advice').problems).toContain(problem)
  })

  it('reports a Cut_OffResponse without Cut_OffResult as missing_cutoff_result', () => {
    const body = `<s:Envelope xmlns:s="${SOAP}"><s:Body><Cut_OffResponse xmlns="http://tempuri.org/"/></s:Body></s:Envelope>`
    expect(checkHostAnswer(answer(body), 'xml', 'cutoff').problems).toEqual(['missing_cutoff_result'])
  })
})

describe('ehi.onHostFailure.declineResponseStatus', () => {
  // Every code of the list, not a sample: the list is what keeps an approval from being invented.
  it.each([...APPROVAL_CODES])('refuses the approval code %s at startup', (code) => {
    const { config, issues } = validateConfig({
      ehi: { onHostFailure: { decision: 'decline', declineResponseStatus: code } },
    })
    const error = (() => {
      try {
        compileRuntime(config, issues)
      } catch (e) {
        return e as ConfigError
      }
      return undefined
    })()
    expect(error?.issues.map((i) => i.path)).toContain('ehi.onHostFailure.declineResponseStatus')
  })

  it.each(['05', '91', '96'])('accepts the decline code %s', (code) => {
    // Guards the cases above: a valid decline starts.
    const { config, issues } = validateConfig({
      ehi: { onHostFailure: { decision: 'decline', declineResponseStatus: code } },
    })
    let paths: string[] = []
    try {
      compileRuntime(config, issues)
    } catch (e) {
      paths = (e as ConfigError).issues.map((i) => i.path)
    }
    expect(paths).not.toContain('ehi.onHostFailure.declineResponseStatus')
  })
})
