// The subscribe form's time zone, preset from the browser's own (IANA name) when the
// form asks for it and the name is one the form offers; typing or picking still works
// without this script. Loaded as a file: the pages allow no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("timezone");
  if (!input || input.dataset.preset !== "browser" || typeof Intl === "undefined") {
    return;
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const offered = input.list && Array.from(input.list.options).some((o) => o.value === zone);
  if (zone && offered) {
    input.value = zone;
  }
});
