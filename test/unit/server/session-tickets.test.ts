import { describe, expect, it } from 'vitest'
import {
  splitTicketKey,
  TICKET_ISSUED,
  TICKET_RENEW,
  TICKET_UNKNOWN,
  ticketKeyAnswer,
} from '../../../src/server/session-tickets.ts'

const keyOf = (fill: number) => splitTicketKey(Buffer.alloc(48, fill))
const current = keyOf(1)
const previous = keyOf(2)
const IV = Buffer.alloc(16, 9)

describe('ticket key answers', () => {
  it('splits a 48-byte key as Node does: name, HMAC key, AES key', () => {
    const bytes = Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2), Buffer.alloc(16, 3)])
    expect(splitTicketKey(bytes)).toEqual({
      name: bytes.subarray(0, 16),
      hmac: bytes.subarray(16, 32),
      aes: bytes.subarray(32),
    })
    expect(() => splitTicketKey(Buffer.alloc(32))).toThrow(/48 bytes, not 32/)
  })

  it.each([
    [
      'issues a new ticket under the current key, with a fresh IV',
      current.name,
      true,
      true,
      [TICKET_ISSUED, current.hmac, current.aes, current.name, IV],
    ],
    [
      'reads and renews a ticket of the current key',
      current.name,
      false,
      true,
      [TICKET_RENEW, current.hmac, current.aes],
    ],
    [
      'reads and renews a ticket of the previous key, with that key',
      previous.name,
      false,
      true,
      [TICKET_RENEW, previous.hmac, previous.aes],
    ],
    [
      'does not read a ticket of the previous key once it is dropped',
      previous.name,
      false,
      false,
      [TICKET_UNKNOWN, current.hmac, current.aes],
    ],
    [
      'does not read a ticket of an unknown key (answering with well-formed keys)',
      keyOf(3).name,
      false,
      true,
      [TICKET_UNKNOWN, current.hmac, current.aes],
    ],
  ])('%s', (_name, ticketName, encrypt, keepPrevious, expected) => {
    const keys = { current, previous: keepPrevious ? previous : undefined }
    expect(ticketKeyAnswer(keys, ticketName, encrypt, () => IV)).toEqual(expected)
  })
})
