// Volunteer page ("/"): sign-up, location, availability, alerts, confirmations,
// and (protocol 1.2) push notifications when the page is closed.
//
// The page is split into modules under volunteer/:
//   state.js         shared state, storage keys and small helpers
//   link.js          the volunteer socket and the messages it brings
//   alerts.js        alert cards: accept, waiting list, decline
//   answers.js       accept/withdraw over socket or HTTP, results, call updates
//   confirmed.js     cards of confirmed calls: check-in, messages, withdraw
//   location.js      GPS, map and typed places
//   availability.js  the "available" switch and "only until"
//   account.js       sign-up, profile, export, erasure
//   views.js         sign-up or app view, re-render on language change
//   push.js          push notifications, alert area, standing availability

import { applyTranslations, bindLangSwitch, onLangChange } from "./i18n.js";
import { $ } from "./util.js";
import { state } from "./volunteer/state.js";
import { bindAccount } from "./volunteer/account.js";
import { bindLocation } from "./volunteer/location.js";
import { bindAvailability } from "./volunteer/availability.js";
import { showApp, showSignup, rerenderAll } from "./volunteer/views.js";
import { registerWorker } from "./volunteer/push.js";

function init() {
  applyTranslations();
  bindLangSwitch($("#lang"));
  onLangChange(rerenderAll);
  bindAccount();
  bindLocation();
  bindAvailability();
  registerWorker();
  if (state.profile && state.profile.token) showApp();
  else showSignup();
}

init();
