// The viewer's side of ivs-chat-events: connect to the chat room, start the player when the
// broadcast goes live (STREAM_STARTED), stop it when it ends (STREAM_ENDED), and show a "join"
// toast to the one user a multihost invite (StreamCat:MultihostInvite) is addressed to; chat: send
// (signed in: the token has SEND_MESSAGE; guests only read) and see messages, as text, never HTML;
// the room's owner (the token answer's isAdmin) gets a "ban" button beside other users' messages.
// Plain browser JavaScript, no build step. Settings come from config.js (window.IVS_CHAT_EVENTS_CONFIG);
// the decisions (backoff, Retry-After, ordering of state answers and events) are in viewer-core.js.
"use strict";

const config = window.IVS_CHAT_EVENTS_CONFIG;
const core = window.ViewerCore;
const $ = (id) => document.getElementById(id);

// What the page knows; window.viewer lets the tests (and you, in the console) look at it.
const viewer = {
  userId: null,          // our chat user id: the JWT's identity claim, or guest-… for a guest
  signedIn: false,
  connected: false,
  connects: 0,           // WebSocket connections opened (each with a fresh token)
  reconnects: 0,         // reconnections scheduled (after a failed token call or a closed socket)
  tokenFailures: 0,      // failed chat token calls (any status, or no answer)
  received: 0,           // chat EVENT frames received
  live: false,
  playStarts: 0,         // times the player was started
  duplicates: 0,         // stream events seen before (EventBridge delivers at least once)
  stale: 0,              // stream events older than the state already acted on
  invitesShown: 0,
  stateAnswers: 0,       // answers of POST /channel/state
  stateFailures: 0,      // failed /channel/state calls (each retried while the socket is open)
  startsFromState: 0,    // times the player started from /channel/state (opened or reconnected mid-broadcast)
  stopsFromState: 0,     // times the player stopped from /channel/state (a Stream End sent while disconnected)
  joined: false,
  canSend: false,        // our chat token has SEND_MESSAGE (signed in); guests only read
  isAdmin: false,        // we own the room: "ban" beside other users' messages
  messages: 0,           // chat MESSAGE frames received
  sent: 0,               // messages we sent
  refused: 0,            // our messages the room refused (ERROR frames: 406 denied by review, 403, …)
  bans: 0,               // bans we issued that the API accepted
  banButtons: 0,         // "ban" buttons shown
};
window.viewer = viewer;

let localIdToken = null;      // make viewer's sign-in: the JWT it signed for ?user= (never shown)
// The newest stream state acted on: live or not, and its time (epoch ms; -Infinity before any).
// Stream events and /channel/state answers are ordered together by it (ViewerCore.apply…).
let stream = { live: false, time: -Infinity };
const seenStreamEvents = new Set();

// ---- Identity -------------------------------------------------------------------------------

async function signIn() {
  const user = new URLSearchParams(location.search).get("user");
  if (config.localSignIn && user) {
    // make viewer: the local gateway stands in for your sign-in (Cognito) and signs a JWT for `user`.
    const response = await fetch("/local/sign-in", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ userId: user }),
    });
    if (!response.ok) throw new Error(`sign-in: HTTP ${response.status}`);
    localIdToken = (await response.json()).idToken;
  }
}

// The JWT for the next call: read each time, so a token your sign-in refreshes is picked up. Only
// callAPI reads it (into the Authorization header): nothing keeps it, shows it or puts it in the page.
function idToken() {
  if (localIdToken) return localIdToken;
  return typeof config.idToken === "function" ? config.idToken() : null;
}

// `guestPath`: the route to call instead when there is no JWT (the guest twin of `path`).
// `lastCallSignedIn` says whether the last call went with a JWT.
let lastCallSignedIn = false;
async function callAPI(path, body, guestPath) {
  const headers = { "content-type": "application/json" };
  const jwt = idToken();
  lastCallSignedIn = Boolean(jwt);
  if (jwt) headers.authorization = `Bearer ${jwt}`;
  else if (guestPath) path = guestPath;
  // No answer at all (network gone, or a refusal without CORS headers): fetch throws a TypeError,
  // with no status and no retryAfter.
  const response = await fetch(config.apiBaseUrl + path, { method: "POST", headers, body: JSON.stringify(body || {}) });
  const parsed = response.status === 204 ? {} : await response.json().catch(() => ({}));
  const answer = parsed && typeof parsed === "object" ? parsed : {};
  if (!response.ok) {
    const error = new Error(`${path}: HTTP ${response.status}${answer.message ? ` ${answer.message}` : ""}`);
    error.status = response.status;
    // 429 / 503 may say when to come back (seconds). Cross-origin, the browser shows the header only
    // when the answer lists it in Access-Control-Expose-Headers; otherwise it reads as absent.
    error.retryAfter = core.parseRetryAfter(response.headers.get("retry-after"));
    throw error;
  }
  return answer;
}

// A fresh chat token for this channel's room: a token connects once, so every (re)connection asks.
// Signed in: userId is our identity claim, so invites addressed to us are recognised. Guest: a
// receive-only token under a random guest id.
async function fetchChatToken() {
  const chat = await callAPI("/chat/token", { channelArn: config.channelArn }, "/chat/guest-token");
  viewer.signedIn = lastCallSignedIn;
  return chat;
}

// ---- Chat connection ------------------------------------------------------------------------

// One cycle: chat token -> WebSocket -> /channel/state. Any failed token call (a 403 included: the
// deployment may allow guests again, or the sign-in may change) and any closed socket schedule the
// next cycle after ViewerCore.backoffDelay: full jitter, so a crowd that lost its connections at the
// same moment does not come back in lockstep waves, and the server's Retry-After when it sent one.
// The page never gives up; the failure count resets when a socket opens.
let connectFailures = 0;      // consecutive failed cycles since the last socket that opened
let reconnectTimer = null;    // the scheduled cycle: at most one at a time

async function connect() {
  reconnectTimer = null;
  let chat;
  try {
    chat = await fetchChatToken();
  } catch (error) {
    viewer.tokenFailures += 1;
    return reconnectLater(`no chat token (${error.message})`, error.retryAfter);
  }
  viewer.userId = chat.userId;
  viewer.canSend = Array.isArray(chat.capabilities) && chat.capabilities.includes("SEND_MESSAGE");
  viewer.isAdmin = chat.isAdmin === true;
  $("send").hidden = !viewer.canSend;
  if (viewer.signedIn || !$("identity").textContent) {
    $("identity").textContent = viewer.signedIn ? `signed in as ${chat.userId}` : "guest";
  }

  // The same with the IVS Chat Messaging SDK (npm amazon-ivs-chat-messaging):
  //   const room = new ChatRoom({ regionOrUrl: config.region, tokenProvider: async () => {
  //     const t = await fetchChatToken();
  //     return { token: t.token, sessionExpirationTime: new Date(t.sessionExpirationTime),
  //              tokenExpirationTime: new Date(t.tokenExpirationTime) };
  //   } });
  //   room.addListener("event", (e) => onChatEvent(e.eventName, e.attributes || {}));
  //   room.addListener("connect", () => syncChannelState(…));
  //   room.addListener("disconnect", () => setTimeout(() => room.connect(), ViewerCore.backoffDelay(…)));
  //   room.connect();
  const endpoint = config.chatEndpoint || `wss://edge.ivschat.${config.region}.amazonaws.com`;
  let socket;
  try {
    socket = new WebSocket(endpoint, chat.token);   // the token travels as the subprotocol
  } catch (error) {
    return reconnectLater(`cannot connect to chat (${error.message})`, null);
  }
  socket.onopen = () => {
    chatSocket = socket;
    viewer.connected = true;
    viewer.connects += 1;
    connectFailures = 0;
    showConnection("connected to chat");
    // Events sent before this connection (or while the last one was down) never reach it: ask for
    // the channel's state now.
    syncChannelState(socket);
  };
  socket.onmessage = (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    // {"Type":"EVENT","Id":…,"RequestId":…,"EventName":…,"Attributes":{…},"SendTime":…}
    if (frame.Type === "EVENT") onChatEvent(frame.EventName, frame.Attributes || {});
    // {"Type":"MESSAGE","Id","RequestId","Content","Attributes","Sender":{"UserId","Attributes"},"SendTime"}
    else if (frame.Type === "MESSAGE") onChatMessage(frame);
    // {"Type":"ERROR","ErrorCode","ErrorMessage","Id","RequestId"}: 406 when the review denied our message.
    else if (frame.Type === "ERROR") onChatError(frame);
  };
  socket.onclose = () => {
    if (chatSocket === socket) chatSocket = null;
    // Session over, network gone, or the token refused: reconnect with a new token.
    viewer.connected = false;
    reconnectLater("chat disconnected", null);
  };
}

function reconnectLater(reason, retryAfter) {
  if (reconnectTimer !== null) return;
  connectFailures += 1;
  const delay = core.backoffDelay(connectFailures - 1, retryAfter ?? null, Math.random());
  viewer.reconnects += 1;
  showConnection(`${reason}; reconnecting in ${Math.ceil(delay / 1000)} s`);
  reconnectTimer = setTimeout(connect, delay);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function showConnection(text) { $("connection").textContent = text; }

// ---- Events -------------------------------------------------------------------------------

function onChatEvent(name, attributes) {
  viewer.received += 1;
  switch (name) {
    case "STREAM_STARTED":
    case "STREAM_ENDED":
      return onStreamEvent(name, attributes);
    case "StreamCat:MultihostInvite":
      return onInvite(attributes);
    default:
      return logEvent(name, "");
  }
}

// attributes.event is the EventBridge event as JSON (reduced to its key fields when over 1 KB).
function onStreamEvent(name, attributes) {
  let event;
  try { event = JSON.parse(attributes.event); } catch { return logEvent(name, "no event attribute", true); }
  if (config.channelArn && !(event.resources || []).includes(config.channelArn)) {
    return logEvent(name, "another channel", true);
  }
  // EventBridge delivers at least once and in no guaranteed order: act on each event once, and
  // never on one older than the state shown.
  if (event.id && seenStreamEvents.has(event.id)) {
    viewer.duplicates += 1;
    return logEvent(name, `${event.id}: seen before, ignored`, true);
  }
  if (event.id) seenStreamEvents.add(event.id);
  const result = core.applyStreamEvent(stream, name === "STREAM_STARTED", event.time);
  if (result.stale) {
    viewer.stale += 1;
    return logEvent(name, `${event.id}: older than the current state, ignored`, true);
  }
  stream = { live: result.live, time: result.time };
  logEvent(name, `${event.detail?.channel_name || ""} at ${event.time}`);
  if (result.changed) {
    if (result.live) startPlayer(); else stopPlayer();
  }
}

// After each socket opens: POST /channel/state says whether the channel is live and the time of the
// stream event that made it so (stateTime). Both answers are acted on, ordered with the events by that
// time: "live" starts the player (a page opened mid-broadcast), "offline" stops it (a Stream End sent
// while this page's socket was down). A failed call is retried with its own backoff (honouring
// Retry-After) while this socket is open; once it closes, the next connection asks again.
async function syncChannelState(socket) {
  if (!config.channelArn) return;
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
  let failures = 0;
  while (socket.readyState === WebSocket.OPEN) {
    let answer;
    try {
      answer = await callAPI("/channel/state", { channelArn: config.channelArn });
    } catch (error) {
      viewer.stateFailures += 1;
      failures += 1;
      const delay = core.backoffDelay(failures - 1, error.retryAfter ?? null, Math.random());
      logEvent("channel state", `${error.message}; retrying in ${Math.ceil(delay / 1000)} s`, true);
      await Promise.race([sleep(delay), closed]);
      continue;
    }
    viewer.stateAnswers += 1;
    return onChannelState(answer);   // even if the socket closed meanwhile: the answer is ordered by its time
  }
}

function onChannelState(answer) {
  const result = core.applyChannelState(stream, answer);
  stream = { live: result.live, time: result.time };
  if (!result.changed) return;
  if (result.live) {
    viewer.startsFromState += 1;
    logEvent("channel state", `live since ${answer.startTime || answer.stateTime}`);
    startPlayer();
  } else {
    viewer.stopsFromState += 1;
    logEvent("channel state", `offline since ${answer.stateTime}`);
    stopPlayer();
  }
}

// ---- Player -------------------------------------------------------------------------------

const video = $("player");
let ivsPlayer = null;

function startPlayer() {
  if (viewer.live) return;
  viewer.live = true;
  viewer.playStarts += 1;
  if (config.player === "ivs") {
    // On AWS: the IVS player with the channel's playback URL.
    loadIVSPlayer().then(() => {
      if (!viewer.live) return;   // it ended while the player loaded
      ivsPlayer = ivsPlayer || window.IVSPlayer.create();
      ivsPlayer.attachHTMLVideoElement(video);
      ivsPlayer.load(config.playbackUrl);
      ivsPlayer.play();
    }).catch((error) => logEvent("player", `the IVS player could not be loaded: ${error.message || "refused or unreachable"}`, true));
  } else {
    // Locally: a short test clip stands in for the stream.
    video.src = config.playbackUrl;
    video.loop = true;
    video.play().catch((error) => logEvent("player", `cannot play: ${error.message}`, true));
  }
  showLive(true);
}

function stopPlayer() {
  if (!viewer.live) return;
  viewer.live = false;
  if (ivsPlayer) ivsPlayer.pause(); else video.pause();
  showLive(false);
}

// The pinned IVS player, loaded only with Subresource Integrity: config.playerIntegrity is its
// sha384 (config.example.js says how to compute it), so a changed file on the CDN is refused.
const IVS_PLAYER_URL = "https://player.live-video.net/1.44.0/amazon-ivs-player.min.js";
function loadIVSPlayer() {
  if (window.IVSPlayer) return Promise.resolve();
  if (!/^sha(256|384|512)-[A-Za-z0-9+/=]+$/.test(config.playerIntegrity || "")) {
    return Promise.reject(new Error("config.playerIntegrity (the player's sha384-… hash) is missing"));
  }
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = IVS_PLAYER_URL;
    script.integrity = config.playerIntegrity;
    script.crossOrigin = "anonymous";
    script.onload = resolve;
    script.onerror = reject;
    document.head.appendChild(script);
  });
}

function showLive(live) {
  const status = $("status");
  status.textContent = live ? "live" : "offline";
  status.className = `badge ${live ? "live" : "offline"}`;
  $("offline").hidden = live;
}

// ---- Multihost invites --------------------------------------------------------------------

let invite = null;

function onInvite(attributes) {
  // Every viewer in the room receives every invite: only the invitee reacts. User ids are
  // strings on the wire; compare them as strings.
  if (!viewer.signedIn || String(attributes.userId) !== String(viewer.userId)) {
    return logEvent("StreamCat:MultihostInvite", "for someone else", true);
  }
  invite = attributes;
  viewer.invitesShown += 1;
  logEvent("StreamCat:MultihostInvite", `for you: stage ${attributes.stage}`);
  $("toast-text").textContent = `You are invited to join the stage "${attributes.stage}" (until ${attributes.expiresAt}).`;
  $("join-result").textContent = "";
  $("join").disabled = false;
  $("toast").hidden = false;
}

$("join").onclick = async () => {
  $("join").disabled = true;
  try {
    // Only the invitee can fetch the participant token: the function checks the caller's JWT.
    const { token, participantId, expirationTime } = await callAPI("/multihost/join", { stageArn: invite.stageArn });
    // Hand `token` to the IVS real-time (Web Broadcast) SDK: new IVSBroadcastClient.Stage(token, strategy).
    // It is never shown or logged.
    viewer.joined = Boolean(token);
    $("join-result").textContent = `Joined: participant token received for participant ${participantId} (valid until ${expirationTime}).`;
  } catch (error) {
    $("join-result").textContent = `Could not join: ${error.message}`;
    $("join").disabled = false;
  }
};

$("dismiss").onclick = () => { $("toast").hidden = true; };

// ---- Chat messages --------------------------------------------------------------------------

let chatSocket = null;   // the open chat connection, for sending

function onChatMessage(frame) {
  viewer.messages += 1;
  const sender = frame.Sender || {};
  const item = document.createElement("li");
  const name = document.createElement("span");
  name.className = "sender";
  name.textContent = (sender.Attributes && sender.Attributes.username) || sender.UserId || "?";
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = String(frame.Content ?? "");   // text, never HTML
  item.append(name, text);
  if (viewer.isAdmin && sender.UserId && String(sender.UserId) !== String(viewer.userId)) {
    const ban = document.createElement("button");
    ban.type = "button";
    ban.className = "ban";
    ban.textContent = "ban";
    ban.title = `ban ${sender.UserId} from this room`;
    ban.onclick = () => banUser(String(sender.UserId), ban);
    item.append(ban);
    viewer.banButtons += 1;
  }
  $("messages").append(item);
  item.scrollIntoView({ block: "nearest" });
}

function onChatError(frame) {
  viewer.refused += 1;
  const why = frame.ErrorCode === 406 ? "not delivered" : `refused (${frame.ErrorCode})`;
  $("chat-note").textContent = `Your message was ${why}: ${frame.ErrorMessage || "no reason given"}`;
}

async function banUser(userId, button) {
  button.disabled = true;
  try {
    await callAPI("/chat/ban", { userId, channelArn: config.channelArn });
    viewer.bans += 1;
    $("chat-note").textContent = `${userId} is banned and disconnected`;
  } catch (error) {
    button.disabled = false;
    $("chat-note").textContent = `ban failed: ${error.message}`;
  }
}

$("send").onsubmit = (submit) => {
  submit.preventDefault();
  const content = $("message").value.trim();
  if (!content || !chatSocket || !viewer.canSend) return;
  const requestId = (crypto.randomUUID && crypto.randomUUID()) || String(Math.random()).slice(2);
  chatSocket.send(JSON.stringify({ Action: "SEND_MESSAGE", RequestId: requestId, Content: content, Attributes: {} }));
  viewer.sent += 1;
  $("message").value = "";
  $("chat-note").textContent = "";
};

// ---- Log ------------------------------------------------------------------------------------

function logEvent(name, detail, ignored = false) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${name}${detail ? ` — ${detail}` : ""}`;
  if (ignored) item.className = "ignored";
  $("events").prepend(item);
}

// ---- Start ----------------------------------------------------------------------------------

showLive(false);
signIn()
  .catch((error) => { $("identity").textContent = `sign-in failed (${error.message}): continuing as a guest`; })
  .then(connect);
