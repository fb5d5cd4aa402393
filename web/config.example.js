// The viewer page's settings on AWS: copy to config.js beside index.html and fill in.
// (`make viewer` serves its own config.js, pointing at the local stack.)
window.IVS_CHAT_EVENTS_CONFIG = {
  // The HTTP API of the stack (Outputs: ApiUrl), without a trailing slash.
  apiBaseUrl: "https://abcdef1234.execute-api.us-east-1.amazonaws.com",
  // The region of the chat room: clients connect to wss://edge.ivschat.<region>.amazonaws.com.
  region: "us-east-1",
  // The channel this page plays: STREAM_STARTED / STREAM_ENDED of other channels are ignored, and the
  // chat token is for this channel's room (CHANNEL_ROOM_MAP, else ChatRoomArn).
  channelArn: "arn:aws:ivs:us-east-1:123456789012:channel/AbCdEf012345",
  // The channel's playback URL, played with the IVS player.
  player: "ivs",
  // Subresource Integrity of the pinned player (viewer.js: player.live-video.net/1.44.0): the page
  // loads it only with this hash. Compute it once and pin it:
  //   curl -s https://player.live-video.net/1.44.0/amazon-ivs-player.min.js | openssl dgst -sha384 -binary | openssl base64 -A
  playerIntegrity: "sha384-REPLACE-WITH-THE-HASH-ABOVE",
  playbackUrl: "https://abcdef.us-east-1.playback.live-video.net/api/video/v1/us-east-1.123456789012.channel.AbCdEf012345.m3u8",
  // Your sign-in (e.g. Cognito) stores the signed-in user's JWT here, read before every call; without
  // one the page is a guest (which needs AllowGuests=true on the stack). The token's `username` claim
  // becomes the chat token's `username` attribute (UsernameClaim: `username` for Cognito access
  // tokens, `cognito:username` for ID tokens).
  idToken: () => sessionStorage.getItem("ivs-chat-events.idToken"),
};
