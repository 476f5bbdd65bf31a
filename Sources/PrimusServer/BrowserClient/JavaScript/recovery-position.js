// Missed-message recovery, the client's half: where a client stands in its server's broadcast
// sequence, and what a received value delivers. Plain ES5, no dependencies; it knows nothing of
// Primus, so it is tested on its own (Tests/JavaScript/recovery-position.test.js).
//
// The server splices this file into library.js right after core.js, which uses it: the client
// opts in with the query parameter `_primus_recover` on every connection URL (empty at first,
// then the last sequence it saw), and every decoded message passes through `receive` before the
// emitter and the `data` event. The wire format (RecoveryEnvelope.swift on the server):
//   {"primus::seq": "<ms>-<n>", "data": <value>}  a sequenced message: deliver <value>, once;
//   {"primus::seq": "<ms>-<n>"}                   a baseline: remember it, deliver nothing;
//   anything else                                 delivered as it is.
// Sequences are Redis stream ids, compared as the pair of numbers (ms, n). The client keeps the
// greatest it saw and drops a sequenced message not greater than it (a replayed duplicate).
'use strict';

function RecoveryPosition() {
  // The greatest sequence seen, as "<ms>-<n>" without leading zeros, or null before the first.
  this.last = null;
  this.lastPair = null;
}

RecoveryPosition.QUERY_PARAMETER = '_primus_recover';
RecoveryPosition.SEQUENCE_KEY = 'primus::seq';
RecoveryPosition.DATA_KEY = 'data';
// What `receive` returns for a value that delivers nothing.
RecoveryPosition.NOTHING = { nothing: true };

// unwrap's answer for anything that is not an envelope (most messages), made once.
var RECOVERY_PLAIN = { kind: 'plain' };

// The largest unsigned 64-bit number, the bound the server holds sequences to.
var RECOVERY_MAX_PART = '18446744073709551615';

function recoveryPart(digits) {
  var trimmed = digits.replace(/^0+(?=\d)/, '');
  if (trimmed.length > RECOVERY_MAX_PART.length) return null;
  if (trimmed.length === RECOVERY_MAX_PART.length && trimmed > RECOVERY_MAX_PART) return null;
  return trimmed;
}

// "<ms>-<n>" (two unsigned decimal integers of at most 20 digits, each below 2^64) as
// { text, pair: [ms, n] } with the parts as Numbers, or null for anything else.
RecoveryPosition.parse = function parse(text) {
  if (typeof text !== 'string') return null;
  var match = /^(\d{1,20})-(\d{1,20})$/.exec(text);
  if (!match) return null;
  var ms = recoveryPart(match[1]);
  var n = recoveryPart(match[2]);
  if (ms === null || n === null) return null;
  return { text: ms + '-' + n, pair: [Number(ms), Number(n)] };
};

// Negative, zero or positive as sequence pair a is before, equal to or after b.
RecoveryPosition.compare = function compare(a, b) {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
};

// What `value` is: { kind: 'message', sequence, data }, { kind: 'baseline', sequence } or
// { kind: 'plain' }. An envelope is an object whose only keys are `primus::seq` (a valid
// sequence) and optionally `data`.
RecoveryPosition.unwrap = function unwrap(value) {
  var own = Object.prototype.hasOwnProperty;
  if (!value || typeof value !== 'object' || Array.isArray(value) ||
    !own.call(value, RecoveryPosition.SEQUENCE_KEY)) return RECOVERY_PLAIN;
  var keys = Object.keys(value);
  if (keys.length > 2) return RECOVERY_PLAIN;
  var sequence = RecoveryPosition.parse(value[RecoveryPosition.SEQUENCE_KEY]);
  if (!sequence) return RECOVERY_PLAIN;
  if (own.call(value, RecoveryPosition.DATA_KEY)) {
    return { kind: 'message', sequence: sequence, data: value[RecoveryPosition.DATA_KEY] };
  }
  return keys.length === 1 ? { kind: 'baseline', sequence: sequence } : RECOVERY_PLAIN;
};

// The value of `_primus_recover` for the next connection: the last sequence, or empty.
RecoveryPosition.prototype.queryValue = function queryValue() {
  return this.last || '';
};

// What `value` delivers: itself when plain, the payload of a new sequenced message, or
// RecoveryPosition.NOTHING for a baseline or a duplicate.
RecoveryPosition.prototype.receive = function receive(value) {
  var received = RecoveryPosition.unwrap(value);
  if (received.kind === 'plain') return value;
  var newer = !this.lastPair || RecoveryPosition.compare(received.sequence.pair, this.lastPair) > 0;
  if (newer) {
    this.last = received.sequence.text;
    this.lastPair = received.sequence.pair;
  }
  if (received.kind === 'baseline' || !newer) return RecoveryPosition.NOTHING;
  return received.data;
};
