// pwsentry's self-service page: the live meter, the confirmation check,
// "suggest one", and the change through /v1/change. Without this script
// the form still works (a plain POST answered by the server).
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var form = $("change");
  if (!form || !window.fetch) return;
  var account = $("account"), current = $("current"), pw = $("new"), again = $("confirm");
  var bar = $("bar"), text = $("meter-text"), rules = $("rules"), match = $("match");
  var result = $("result"), suggest = $("suggest"), shown = $("suggestion"), code = $("suggested");
  var submit = $("submit");
  var words = text.getAttribute("data-words").split("|");
  var initial = Array.prototype.map.call(rules.children, function (li) { return li.textContent; });
  var timer = null, seq = 0;

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; },
        function () { return { status: r.status, body: {} }; });
    });
  }
  function fill(list, items) {
    list.textContent = "";
    items.forEach(function (t) {
      var li = document.createElement("li");
      li.textContent = t;
      list.appendChild(li);
    });
  }
  function show(v) {
    var s = v.score;
    bar.className = s === null || s === undefined ? "" : "s" + s + (v.accepted ? " ok" : "");
    var head = s === null || s === undefined ? "Not scored" : "Strength " + s + "/4 (" + words[s] + ")";
    text.textContent = head + (v.accepted ? "; meets the rules so far" : "; not accepted yet:");
    fill(rules, v.violations.map(function (x) { return x.message; }));
  }
  function check() {
    var mine = ++seq;
    if (!pw.value) {
      bar.className = "";
      text.textContent = "Not accepted yet:";
      fill(rules, initial);
      return;
    }
    var body = { password: pw.value };
    if (account.value.trim()) body.account = account.value.trim();
    var ask = function (b) {
      post("/v1/check", b).then(function (r) {
        if (mine !== seq) return; // a later keystroke is on its way
        if (r.status === 200) show(r.body);
        // An address the server cannot use yet: judge the password alone.
        else if (r.status === 400 && b.account) ask({ password: b.password });
      }, function () {});
    };
    ask(body);
  }
  function compare() {
    if (!again.value) { match.textContent = ""; match.className = ""; return; }
    var same = again.value === pw.value;
    match.textContent = same ? "matches" : "does not match";
    match.className = same ? "ok" : "bad";
  }
  function forget() {
    code.textContent = "";
    shown.hidden = true;
  }
  function say(kind, head, items) {
    result.className = kind;
    result.textContent = "";
    var p = document.createElement("p");
    p.textContent = head;
    result.appendChild(p);
    if (items && items.length) {
      var ul = document.createElement("ul");
      fill(ul, items);
      result.appendChild(ul);
    }
    result.focus();
  }

  pw.addEventListener("input", function () {
    forget();
    compare();
    clearTimeout(timer);
    timer = setTimeout(check, 150);
  });
  again.addEventListener("input", function () { forget(); compare(); });
  suggest.hidden = false;
  suggest.addEventListener("click", function () {
    var body = {};
    if (account.value.trim()) body.account = account.value.trim();
    suggest.disabled = true;
    post("/v1/generate", body).then(function (r) {
      suggest.disabled = false;
      if (r.status !== 200) { say("bad", "No suggestion: " + ((r.body.error || {}).message || r.status)); return; }
      pw.value = again.value = r.body.password;
      code.textContent = r.body.password;
      shown.hidden = false;
      compare();
      check();
    }, function () { suggest.disabled = false; });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    compare();
    if (pw.value !== again.value) { again.focus(); return; }
    forget();
    submit.disabled = true;
    post("/v1/change", {
      account: account.value.trim(), current_password: current.value, new_password: pw.value
    }).then(function (r) {
      submit.disabled = false;
      if (r.status === 200) {
        current.value = pw.value = again.value = "";
        compare();
        check();
        say("ok", "Your password was changed.");
      } else if (r.body.verdict) {
        say("bad", "Not changed: the new password does not meet these rules:",
          r.body.verdict.violations.map(function (x) { return x.message; }));
      } else {
        say("bad", "Not changed: " + ((r.body.error || {}).message || "the server answered " + r.status));
      }
    }, function () {
      submit.disabled = false;
      say("bad", "Not changed: the server could not be reached");
    });
  });
})();
