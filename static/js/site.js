// Small helps on every page. Each page works without this script; it only saves a step or a scroll.
(function () {
  "use strict";

  // Irreversible actions (deleting a message or a document) carry data-confirm with the question to ask.
  // Without JavaScript the server shows a confirmation page instead; once asked here, the form says so
  // (confirmed=yes) and the server goes straight on.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question) {
      return;
    }
    if (!window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var confirmed = form.querySelector('input[name="confirmed"]');
    if (confirmed) {
      confirmed.value = "yes";
    }
  });

  // On a narrow screen the case tabs scroll sideways in one row; bring the current one into view.
  Array.prototype.forEach.call(document.querySelectorAll("nav.tabs"), function (tabs) {
    var current = tabs.querySelector('[aria-current="page"]');
    if (current && tabs.scrollWidth > tabs.clientWidth) {
      tabs.scrollLeft = current.offsetLeft - tabs.offsetLeft - 16;
    }
  });
})();
