// The console's one script: toasts for the messages channel and for unexpected failures.
// No inline scripts anywhere: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  function toast(text, level, url) {
    var region = document.getElementById("toasts");
    if (!region) { return; }
    var item = document.createElement("div");
    item.className = "toast toast--" + (level || "info");
    item.textContent = text;
    if (url && url.charAt(0) === "/" && url.charAt(1) !== "/") {
      var link = document.createElement("a");
      link.href = url;
      link.textContent = "See the run";
      item.appendChild(document.createTextNode(" "));
      item.appendChild(link);
    }
    region.appendChild(item);
    window.setTimeout(function () { item.remove(); }, 8000);
  }

  // A run that ended while the page was open shows in the tab title until the tab is looked at.
  var baseTitle = document.title;
  var unseen = 0;
  function markTitle(count) {
    unseen += count;
    document.title = "(" + unseen + ") Run ended · " + baseTitle;
  }
  function clearTitle() {
    if (unseen && !document.hidden) {
      window.setTimeout(function () { unseen = 0; document.title = baseTitle; }, 10000);
    }
  }
  document.addEventListener("visibilitychange", clearTitle);

  document.body.addEventListener("messages", function (event) {
    var list = (event.detail && event.detail.value) || [];
    list.forEach(function (m) { toast(m.text, m.level, m.url); });
    var notices = list.filter(function (m) { return m.run_ended; }).length;
    if (notices) { markTitle(notices); clearTitle(); }
  });

  // htmx 2 does not swap unexpected 4xx/5xx answers: say so instead of failing silently.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    toast("The console could not complete that (" + status + "). Nothing was lost; try again.", "error");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The console did not answer. Check your connection and try again.", "error");
  });

  // The leaderboard picker's filter box hides the choices whose label does not match.
  document.body.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-filter]")) { return; }
    var list = document.querySelector(box.getAttribute("data-filter"));
    if (!list) { return; }
    var needle = box.value.trim().toLowerCase();
    list.querySelectorAll("label").forEach(function (label) {
      var row = label.parentElement && label.parentElement !== list ? label.parentElement : label;
      row.hidden = needle !== "" && label.textContent.toLowerCase().indexOf(needle) === -1;
    });
  });

  // Choosing how often turns the schedule on: a cadence means nothing while it is off.
  // Captured, so it runs before htmx asks for the summary of the form as it then is.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("input[type=radio][name=cadence]")) { return; }
    var on = radio.form && radio.form.querySelector("input[type=radio][name=enabled][value=on]");
    if (on) { on.checked = true; }
  }, true);

  // "Automatic" dataset size: the rows field is disabled, as the server renders it.
  document.body.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("input[type=radio][name=size]")) { return; }
    var rows = radio.form && radio.form.querySelector("input[name=rows]");
    if (rows) { rows.disabled = radio.value === "auto"; }
  });

  // Filters fold into a disclosure on narrow screens; on wide ones they start open.
  function openWide(root) {
    if (!window.matchMedia("(min-width: 48rem)").matches) { return; }
    root.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
  }
  openWide(document);

  // A button with data-copy copies the text of the element it names (the one-time link).
  document.body.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent.trim();
    var done = function () { toast("Copied to the clipboard.", "success"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
    } else {
      selectText(source);
    }
  });
  // Without clipboard access (plain http), select the text so Ctrl+C copies it.
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    toast("The link is selected: press Ctrl+C (or ⌘C) to copy it.", "info");
  }

  // After a swap, move focus to an element that asks for it (dialogs, forms with errors).
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt && event.detail.elt.querySelector
      ? event.detail.elt.querySelector("[data-autofocus]") : null;
    if (target) { target.focus(); }
  });
}());
