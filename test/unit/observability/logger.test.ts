/**
 * Every log line passes maskLongDigitRuns on its way out: a run of 12 digits or more (a card
 * number, wherever it came from: a field, a path, an error message) is never written in clear,
 * and the line stays valid JSON.
 */
import { describe, expect, it } from 'vitest'
import { createLogger, maskLongDigitRuns } from '../../../src/observability/logger.ts'

const PAN = '5372999988887777'

describe('maskLongDigitRuns', () => {
  it.each([
    { name: 'a run in a string', line: `{"a":"x${PAN}y"}`, masked: '{"a":"x************7777y"}' },
    { name: 'exactly 12 digits', line: '{"a":"123456789012"}', masked: '{"a":"********9012"}' },
    { name: '11 digits are kept', line: '{"a":"12345678901"}', masked: '{"a":"12345678901"}' },
    { name: 'a run in a key', line: `{"${PAN}":1}`, masked: '{"************7777":1}' },
    {
      name: 'two runs',
      line: `{"a":"${PAN} and ${PAN}"}`,
      masked: '{"a":"************7777 and ************7777"}',
    },
    { name: 'a JSON number', line: `{"a":${PAN},"b":1}`, masked: '{"a":"************7777","b":1}' },
    { name: 'a negative JSON number', line: `{"a":-${PAN}}`, masked: '{"a":"************7777"}' },
    { name: 'a decimal JSON number', line: `{"a":[${PAN}.25]}`, masked: '{"a":["**************7725"]}' },
    { name: 'small numbers', line: '{"a":12.5,"b":-3,"c":1e3}', masked: '{"a":12.5,"b":-3,"c":1e3}' },
    {
      name: 'a run after an escaped quote',
      line: `{"a":"say \\"${PAN}\\""}`,
      masked: '{"a":"say \\"************7777\\""}',
    },
    {
      // \u0031 is the escape of "1": its hex digits are not part of a run.
      name: 'digits of a \\u escape',
      line: '{"a":"\\u00311234567890"}',
      masked: '{"a":"\\u00311234567890"}',
    },
    {
      name: 'a Visa trace id',
      line: '{"t":"VIS1-20221219-002353117950020"}',
      masked: '{"t":"VIS1-20221219-***********0020"}',
    },
    {
      name: 'a request id (UUID) whose last group is all digits',
      line: '{"requestId":"3f2a1b4c-0d9e-4f8a-9b7c-123456789012"}',
      masked: '{"requestId":"3f2a1b4c-0d9e-4f8a-9b7c-123456789012"}',
    },
    {
      name: "the gateway's trust hash (a hex SHA-256) with a long digit run",
      line: `{"trustHash":"69a10423931d2401e89841452499210c2aa0de28f54f5149f8323883c14f004d"}`,
      masked: `{"trustHash":"69a10423931d2401e89841452499210c2aa0de28f54f5149f8323883c14f004d"}`,
    },
    {
      name: 'a hash key holding something other than a hex digest',
      line: `{"trustHash":"x${PAN}"}`,
      masked: '{"trustHash":"x************7777"}',
    },
    {
      name: 'a hex digest under another key',
      line: `{"subject":"69a10423931d2401e89841452499210c2aa0de28f54f5149f8323883c14f004d"}`,
      masked: `{"subject":"69a10423931d2401e**********9210c2aa0de28f54f5149f8323883c14f004d"}`,
    },
    {
      name: 'a run that only looks like the end of a UUID',
      line: '{"a":"3f2a1b4c-0d9e-4f8a-9b7c-1234567890123"}',
      masked: '{"a":"3f2a1b4c-0d9e-4f8a-9b7c-*********0123"}',
    },
  ])('$name', ({ line, masked }) => {
    expect(maskLongDigitRuns(line)).toBe(masked)
    // Still valid JSON, with the same structure.
    expect(() => JSON.parse(maskLongDigitRuns(line)) as unknown).not.toThrow()
  })

  it('returns a line without a long run unchanged (the same string)', () => {
    const line = '{"level":"info","event":"request","ehi":{"fields":{"TXn_ID":"4000000001"}}}\n'
    expect(maskLongDigitRuns(line)).toBe(line)
  })
})

describe('createLogger: every line is masked', () => {
  function capture() {
    const lines: string[] = []
    const logger = createLogger({ level: 'info', pretty: false } as Parameters<typeof createLogger>[0], {
      write: (line: string) => void lines.push(line),
    })
    return { logger, lines }
  }

  it('masks a run in any field, nested or not, the message and an error', () => {
    const { logger, lines } = capture()
    logger.info({ event: 'request', path: `/ehi/${PAN}`, nested: { deep: [PAN] } }, `message ${PAN}`)
    logger.error({ err: new Error(`failed on ${PAN}`) }, 'boom')
    logger.warn({ n: Number(PAN) }, 'number')
    expect(lines).toHaveLength(3)
    for (const line of lines) {
      expect(line).not.toContain(PAN)
      expect(line).not.toMatch(/[0-9]{12}/)
      expect(() => JSON.parse(line) as unknown).not.toThrow()
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({
      path: '/ehi/************7777',
      nested: { deep: ['************7777'] },
      msg: 'message ************7777',
    })
    expect(JSON.parse(lines[2]!)).toMatchObject({ n: '************7777' })
  })
})
