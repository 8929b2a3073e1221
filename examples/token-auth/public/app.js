// The page of examples/token-auth: gets a short-lived token, then connects with it in the
// SockJS URL's query string, which sockjs-client carries to every transport. Plain ES2020.
'use strict';

(function () {
  var status = document.getElementById('status');
  var lines = document.getElementById('lines');

  function show(text) {
    var item = document.createElement('li');
    item.textContent = text;
    lines.appendChild(item);
  }

  document.getElementById('join').addEventListener('submit', async function (event) {
    event.preventDefault();
    var name = document.getElementById('name').value;
    var reply = await fetch('/token?name=' + encodeURIComponent(name), { method: 'POST' });
    var token = (await reply.json()).token;
    document.getElementById('join').hidden = true;
    // The transport can be forced with ?transport=xhr-polling (tests try each one).
    var forced = new URLSearchParams(location.search).get('transport');
    var sock = new SockJS('/chat?token=' + encodeURIComponent(token), null, forced ? { transports: [forced] } : {});
    status.textContent = 'connecting';
    sock.onopen = function () {
      status.textContent = 'open (' + sock.transport + ')';
      document.getElementById('say').hidden = false;
    };
    sock.onmessage = function (message) {
      var data = message.data;
      if (data.type === 'welcome') show('Welcome, ' + data.name + '!');
      else show(data.from + ': ' + data.text);
    };
    sock.onclose = function (close) {
      status.textContent = 'closed (' + close.code + ' ' + close.reason + ')';
    };
    document.getElementById('say').addEventListener('submit', function (submit) {
      submit.preventDefault();
      var text = document.getElementById('text');
      sock.send(text.value);
      text.value = '';
    });
  });
})();
