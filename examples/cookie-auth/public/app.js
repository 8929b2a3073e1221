// The page of examples/cookie-auth: logs in with a form (koa-session sets its cookie), then
// opens a SockJS session, which the server authorizes by that cookie. Plain ES2020, no build.
'use strict';

(async function () {
  var status = document.getElementById('status');
  var lines = document.getElementById('lines');
  var me = await (await fetch('/me')).json();
  if (!me.user) return;
  document.getElementById('login').hidden = true;
  document.getElementById('logout').hidden = false;
  document.getElementById('who').textContent = 'Logged in as ' + me.user.name + '.';

  function show(text) {
    var item = document.createElement('li');
    item.textContent = text;
    lines.appendChild(item);
  }

  // The transport can be forced with ?transport=xhr-polling (tests try each one).
  var forced = new URLSearchParams(location.search).get('transport');
  var sock = new SockJS('/chat', null, forced ? { transports: [forced] } : {});
  status.textContent = 'connecting';
  sock.onopen = function () {
    status.textContent = 'open (' + sock.transport + ')';
    document.getElementById('say').hidden = false;
  };
  sock.onmessage = function (event) {
    var message = event.data;
    if (message.type === 'welcome') show('Welcome, ' + message.name + '!');
    else show(message.from + ': ' + message.text);
  };
  sock.onclose = function (event) {
    status.textContent = 'closed (' + event.code + ' ' + event.reason + ')';
  };
  document.getElementById('say').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = document.getElementById('text');
    sock.send(text.value);
    text.value = '';
  });
})();
