// The viewer page's decisions, as pure functions (no DOM, no timers, no network): how long to wait
// before retrying, how to read Retry-After, and whether an answer of POST /channel/state or a
// STREAM_STARTED / STREAM_ENDED event changes what the page shows. viewer.js does the rest.
//
// These semantics are the contract: a Swift copy of them is tested against this file with a table of
// inputs. Change them here and there together, and keep each function's comment exact.
//
// Loaded by index.html before viewer.js as window.ViewerCore; also usable where `window` is absent
// (globalThis.ViewerCore).
"use strict";

(typeof window !== "undefined" ? window : globalThis).ViewerCore = (() => {
  // Full-jitter backoff: the window starts at BASE_MS and doubles per failure up to CAP_MS.
  const BASE_MS = 1000;
  const CAP_MS = 30000;
  // A server's Retry-After is honoured up to this many seconds.
  const RETRY_AFTER_CAP_S = 60;

  /**
   * How long to wait before the next retry, in integer milliseconds.
   *
   * - attempt: the number of consecutive failures so far minus one (0 for the first retry).
   * - retryAfterSeconds: the server's Retry-After in seconds (see parseRetryAfter), or null.
   * - random: a number in [0, 1) (Math.random() in the page; fixed in tests).
   *
   * If retryAfterSeconds is a finite number >= 0 (typeof "number"), the server's wish, capped and
   * spread over one second:
   *     Math.min(RETRY_AFTER_CAP_S, retryAfterSeconds) * 1000 + Math.floor(random * 1000)
   * Otherwise (null, undefined, NaN, Infinity, negative, not a number) full jitter:
   *     Math.floor(random * Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempt, 20)))
   * i.e. uniformly in [0, 1000) for attempt 0, [0, 2000) for 1, …, [0, 30000) from attempt 5 on.
   * The jitter keeps a crowd that lost its connections at the same moment from coming back in waves.
   */
  function backoffDelay(attempt, retryAfterSeconds, random) {
    if (typeof retryAfterSeconds === "number" && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
      return Math.min(RETRY_AFTER_CAP_S, retryAfterSeconds) * 1000 + Math.floor(random * 1000);
    }
    return Math.floor(random * Math.min(CAP_MS, BASE_MS * 2 ** Math.min(attempt, 20)));
  }

  /**
   * A Retry-After header value in seconds, or null.
   *
   * Only delay-seconds is accepted: headerValue must be a string which, after String.prototype.trim
   * (JavaScript whitespace and line terminators at either end), is one or more ASCII digits 0-9;
   * the result is Number(thoseDigits) (leading zeros allowed: "007" -> 7). Anything else (null,
   * undefined, a non-string, "", an HTTP-date, "1.5", "-1", "+1", "1e3", "1 2") -> null.
   * (A string of more than ~308 digits gives Infinity, which backoffDelay then treats as absent.)
   */
  function parseRetryAfter(headerValue) {
    if (typeof headerValue !== "string") return null;
    const trimmed = headerValue.trim();
    return /^[0-9]+$/.test(trimmed) ? Number(trimmed) : null;
  }

  /**
   * Applies an answer of POST /channel/state to the page's state.
   *
   * - current: {live: boolean, time: number}, time being the epoch milliseconds of the newest state
   *   acted on (a stream event's time or a state answer's stateTime), -Infinity when none yet.
   * - answer: the answer's body, {channelArn, live, stateTime?, startTime?}.
   *
   * Let t = Date.parse(answer.stateTime) (the EventBridge time of the stream event that set the state).
   * - t not finite (stateTime absent or unreadable: the channel was never seen) ->
   *   {live: current.live, time: current.time, changed: false}
   * - t < current.time (older than what the page acted on) -> the same unchanged result.
   * - otherwise -> {live: answer.live === true, time: t, changed: (answer.live === true) !== current.live}.
   * Equal times are applied: the stored state is authoritative for the same instant.
   * The caller starts the player when changed && live, stops it when changed && !live.
   */
  function applyChannelState(current, answer) {
    const t = Date.parse(answer.stateTime);
    if (!Number.isFinite(t) || t < current.time) {
      return { live: current.live, time: current.time, changed: false };
    }
    const live = answer.live === true;
    return { live, time: t, changed: live !== current.live };
  }

  /**
   * Applies a stream event (STREAM_STARTED: live = true, STREAM_ENDED: live = false) to the page's
   * state; same `current` as applyChannelState (events and state answers are one ordering).
   * eventTime is the EventBridge event's `time` (ISO 8601). Let t = Date.parse(eventTime).
   * - t not finite -> {live, time: current.time, changed: live !== current.live, stale: false}
   *   (an event without a readable time is acted on, and does not move the time)
   * - t < current.time -> {live: current.live, time: current.time, changed: false, stale: true}
   * - otherwise -> {live, time: t, changed: live !== current.live, stale: false}
   * Equal times are applied. Duplicates (same event id) are the caller's to drop before this.
   */
  function applyStreamEvent(current, live, eventTime) {
    const t = Date.parse(eventTime);
    if (!Number.isFinite(t)) {
      return { live, time: current.time, changed: live !== current.live, stale: false };
    }
    if (t < current.time) {
      return { live: current.live, time: current.time, changed: false, stale: true };
    }
    return { live, time: t, changed: live !== current.live, stale: false };
  }

  return Object.freeze({ BASE_MS, CAP_MS, RETRY_AFTER_CAP_S, backoffDelay, parseRetryAfter, applyChannelState, applyStreamEvent });
})();
