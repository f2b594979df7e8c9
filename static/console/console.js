// The console's one script: toasts for the messages channel and for unexpected failures.
// No inline scripts anywhere: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  // A toast goes by itself after 8 s, unless it arrived while the tab was hidden: then it
  // waits to be dismissed, so a run's end is never missed.
  function toast(text, level, url) {
    var region = document.getElementById("toasts");
    if (!region) { return; }
    var item = document.createElement("div");
    item.className = "toast toast--" + (level || "info");
    var body = document.createElement("span");
    body.className = "toast__text";
    body.textContent = text;
    item.appendChild(body);
    if (url && url.charAt(0) === "/" && url.charAt(1) !== "/") {
      var link = document.createElement("a");
      link.href = url;
      link.textContent = "See the run";
      body.appendChild(document.createTextNode(" "));
      body.appendChild(link);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    region.appendChild(item);
    if (!document.hidden) {
      window.setTimeout(function () { item.remove(); }, 8000);
    } else {
      item.setAttribute("data-sticky", "");
    }
  }

  // A run that ended while the page was open names its model in the tab title ("Billing
  // Helper: run failed") until the tab has been looked at for a while.
  var baseTitle = document.title;
  var titled = [];
  function markTitle(titles) {
    titled = titled.concat(titles);
    var last = titled[titled.length - 1];
    document.title = (titled.length > 1 ? "(" + titled.length + ") " : "") + last + " · " + baseTitle;
  }
  function clearTitle() {
    if (titled.length && !document.hidden) {
      window.setTimeout(function () {
        if (!document.hidden) { titled = []; document.title = baseTitle; }
      }, 10000);
    }
  }
  document.addEventListener("visibilitychange", clearTitle);

  document.body.addEventListener("messages", function (event) {
    var list = (event.detail && event.detail.value) || [];
    list.forEach(function (m) { toast(m.text, m.level, m.url); });
    var titles = list.filter(function (m) { return m.run_ended || m.title; })
      .map(function (m) { return m.title || "Run ended"; });
    if (titles.length) { markTitle(titles); clearTitle(); }
  });

  // The header's inbox count, kept current by the notices poll.
  document.body.addEventListener("inbox", function (event) {
    var count = event.detail ? event.detail.unread : null;
    var badge = document.getElementById("inbox-count");
    var link = document.getElementById("inbox-link");
    if (count === null || count === undefined || !badge || !link) { return; }
    badge.textContent = count ? String(count) : "";
    badge.hidden = !count;
    if (count) { link.setAttribute("aria-label", "Inbox, " + count + " unread"); }
    else { link.removeAttribute("aria-label"); }
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
    node.classList.remove("visually-hidden");  // an id behind "Copy id" shows, to be copied
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    toast("It is selected: press Ctrl+C (or ⌘C) to copy it.", "info");
  }

  // A page reached with "#<id>" of a region that asks for it (a run just started) moves focus
  // there, so keyboard and screen-reader users arrive where the view did.
  if (window.location.hash.length > 1) {
    var arrived = document.getElementById(window.location.hash.slice(1));
    if (arrived && arrived.hasAttribute("data-focus-on-arrival")) { arrived.focus(); }
  }

  // The time-zone picker leads with the browser's own zone, and gets a box to find a zone.
  document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    var found = zone ? Array.prototype.find.call(select.options, function (o) { return o.value === zone; }) : null;
    if (found) {
      var group = document.createElement("optgroup");
      group.label = "Your browser's zone";
      group.appendChild(found);
      select.insertBefore(group, select.options[0].nextSibling);
    }
    var box = document.createElement("input");
    box.type = "search";
    box.className = "zone-search";
    box.setAttribute("aria-label", "Find a time zone");
    box.setAttribute("aria-controls", select.id);
    box.placeholder = "Find a zone, e.g. Lisbon";
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      var needle = box.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var show = !needle || o.text.toLowerCase().indexOf(needle) !== -1;
        o.hidden = !show;
        if (show && !first && o.value) { first = o; }
      });
      if (needle && first) { select.value = first.value; }
    });
  });

  // After a swap, move focus to an element that asks for it (dialogs, forms with errors).
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt && event.detail.elt.querySelector
      ? event.detail.elt.querySelector("[data-autofocus]") : null;
    if (target) { target.focus(); }
  });
}());
