// A script with bugs, for the "JavaScript errors" buttons of the demo page.
// The page loads it as buggy.js?v=1: the error events carry its path only.
function buggyClick() {
  var settings;
  return settings.theme; // a TypeError: settings is undefined
}
function buggySave() {
  return Promise.reject(new Error('save failed: HTTP 503'));
}
