// Every user-facing string of the Helferruf pages, one dictionary per language.
// German is the default; the choice is remembered in localStorage.
//
// Markup uses data-i18n="key" (textContent) and
// data-i18n-attr="placeholder:key;aria-label:key" (attributes). Strings may hold
// {placeholders} filled by t(key, {placeholder: value}).

const de = {
  "app.name": "Helferruf",
  "skip": "Zum Inhalt",
  "lang.switch": "English",
  "lang.short": "EN",
  "lang.switchLabel": "Switch to English",

  "conn.connecting": "Verbinde …",
  "conn.online": "Verbunden",
  "conn.offline": "Getrennt",
  "conn.retryIn": "Getrennt – neuer Versuch in {s} s",
  "conn.retryNow": "Jetzt verbinden",
  "conn.browserOffline": "Kein Internet",

  // volunteer: sign-up
  "v.title": "Helferruf – Helfen, wenn es gebraucht wird",
  "v.intro": "Lass diese Seite offen. Wenn in deiner Nähe Hilfe gebraucht wird, klingelt es hier. Du entscheidest jedes Mal, ob du kommst.",
  "v.signup.heading": "Mitmachen",
  "v.signup.name": "Dein Vorname oder Spitzname",
  "v.signup.nameHint": "Sehen nur Organisationen, denen du zusagst.",
  "v.signup.skills": "Was kannst du? (antippen, freiwillig)",
  "v.signup.customSkill": "Andere Fähigkeit",
  "v.signup.customSkillPlaceholder": "Andere, z. B. Kettensäge",
  "v.signup.addSkill": "Hinzufügen",
  "v.signup.skillInvalid": "Nur Kleinbuchstaben, Ziffern und Bindestrich, höchstens 32 Zeichen.",
  "v.signup.distance": "Wie weit würdest du fahren?",
  "v.signup.distanceValue": "bis {km} km",
  "v.signup.contact": "Telefon oder E-Mail (freiwillig)",
  "v.signup.contactHint": "Bekommt nur die Organisation, wenn du zusagst.",
  "v.signup.submit": "Mitmachen",
  "v.signup.busy": "Einen Moment …",
  "v.signup.privacy": "Wir speichern Name, Fähigkeiten, Entfernung und Kontakt. Deinen Standort speichern wir nie. Du kannst alles jederzeit löschen.",

  // volunteer: main
  "v.hello": "Hallo {name}!",
  "v.step.location": "1. Wo bist du?",
  "v.step.available": "2. Bist du jetzt verfügbar?",
  "v.loc.consent": "Wenn du „Meinen Standort verwenden“ tippst, fragt dein Browser um Erlaubnis. Dein Standort geht nur an Helferruf, solange diese Seite offen ist, damit wir dich bei Einsätzen in deiner Nähe rufen können. Er wird nicht gespeichert.",
  "v.loc.useGps": "Meinen Standort verwenden",
  "v.loc.stopGps": "Standort nicht mehr teilen",
  "v.loc.pickMap": "Auf der Karte wählen",
  "v.loc.hideMap": "Karte schließen",
  "v.loc.typeLabel": "Oder Ort bzw. Koordinaten eingeben",
  "v.loc.typePlaceholder": "z. B. Köln oder 50.94, 6.96",
  "v.loc.set": "Übernehmen",
  "v.loc.none": "Noch kein Standort gewählt.",
  "v.loc.current": "Dein Standort: {where}",
  "v.loc.gps": "{coords} (GPS, ± {acc} m)",
  "v.loc.gpsWaiting": "Warte auf GPS …",
  "v.loc.gpsDenied": "Der Browser gibt den Standort nicht frei. Wähle ihn auf der Karte oder tippe ihn ein.",
  "v.loc.gpsUnavailable": "Standort gerade nicht bestimmbar. Wähle ihn auf der Karte oder tippe ihn ein.",
  "v.loc.unknownPlace": "Diesen Ort kennen wir nicht. Gib Koordinaten ein, z. B. 50.94, 6.96, oder wähle auf der Karte.",
  "v.loc.mapHint": "Tippe auf die Karte, um deinen Standort zu setzen.",

  "v.avail.on": "Ich bin verfügbar",
  "v.avail.off": "Ich bin nicht verfügbar",
  "v.avail.onHint": "Du wirst gerufen, wenn in deiner Nähe Hilfe gebraucht wird.",
  "v.avail.offHint": "Tippe, wenn du jetzt helfen kannst.",
  "v.avail.needLocation": "Wähle zuerst deinen Standort.",
  "v.avail.until": "Nur bis",
  "v.avail.untilValue": "Verfügbar bis {time}",
  "v.avail.wakeLock": "Bildschirm anlassen, solange ich verfügbar bin",
  "v.avail.notifyDenied": "Benachrichtigungen sind blockiert. Lass die Seite sichtbar offen oder erlaube Benachrichtigungen in den Browser-Einstellungen.",

  "v.alerts.heading": "Hilfe gesucht",
  "v.alerts.none": "Gerade kein Einsatz. Wir melden uns, sobald du gebraucht wirst.",
  "v.alerts.noneUnavailable": "Schalte „verfügbar“ ein, um gerufen zu werden.",
  "v.alert.new": "Neuer Einsatz: {title}, {distance} entfernt",
  "v.alert.distance": "{km} km entfernt",
  "v.alert.counter": "{confirmed} von {needed} bestätigt",
  "v.alert.accept": "Ich komme",
  "v.alert.decline": "Kann nicht",
  "v.alert.accepting": "Wird bestätigt …",
  "v.alert.full": "Leider sind schon alle Plätze besetzt.",
  "v.alert.filled": "Alle Plätze besetzt – danke!",
  "v.alert.cancelled": "Abgesagt",
  "v.alert.expired": "Beendet",
  "v.alert.closed": "Dieser Einsatz ist beendet oder abgesagt.",
  "v.alert.notEligible": "Du kannst diesen Einsatz gerade nicht annehmen.",
  "v.alert.standby": "Du stehst auf der Warteliste. Wir melden uns, wenn ein Platz frei wird.",
  "v.alert.error": "Das hat nicht geklappt. Bitte noch einmal versuchen.",
  "v.alert.skills": "Gebraucht: {skills}",
  "v.alert.by": "von {org}",
  "v.alert.dismiss": "Ausblenden",
  "v.alert.party": "Wir kommen zu",

  "v.confirmed.heading": "Du hast zugesagt",
  "v.confirmed.thanks": "Danke! Du bist bestätigt.",
  "v.confirmed.promoted": "Ein Platz ist frei geworden – du bist jetzt bestätigt!",
  "v.confirmed.where": "Wo",
  "v.alert.when": "Wann:",
  "v.alert.where": "Wo:",
  "v.confirmed.when": "Wann",
  "v.confirmed.noAddress": "Keine Adresse angegeben",
  "v.confirmed.withdraw": "Ich kann doch nicht",
  "v.confirmed.withdrawn": "Du hast abgesagt.",
  "v.confirmed.withdrawSure": "Wirklich absagen? Nochmal tippen",
  "v.confirmed.checkin": "Ich bin angekommen",
  "v.confirmed.checkout": "Ich gehe jetzt",
  "v.confirmed.checkedIn": "Du bist eingecheckt.",
  "v.confirmed.gone": "Dieser Einsatz ist beendet oder abgesagt.",
  "v.confirmed.messages": "Nachrichten der Organisation",
  "v.confirmed.mapLink": "Auf der Karte öffnen",

  "v.account.heading": "Mein Konto",
  "v.account.summary": "{name} · {skills} · bis {km} km",
  "v.account.noSkills": "keine Fähigkeiten angegeben",
  "v.account.export": "Meine Daten herunterladen",
  "v.account.forget": "Mich vergessen",
  "v.account.forgetTitle": "Alles löschen?",
  "v.account.forgetText": "Dein Konto, dein Name und dein Kontakt werden gelöscht. Das lässt sich nicht rückgängig machen.",
  "v.account.forgetConfirm": "Ja, alles löschen",
  "v.account.cancel": "Abbrechen",
  "v.account.forgotten": "Dein Konto ist gelöscht.",
  "v.account.signedOut": "Dein Konto ist nicht mehr bekannt. Bitte melde dich neu an.",
  "v.account.edit": "Profil ändern",
  "v.account.save": "Speichern",
  "v.account.saved": "Gespeichert.",

  "v.notify.title": "Helferruf: Hilfe gesucht!",
  "v.notify.body": "{title} – {distance} entfernt",
  "v.titleFlash": "(!) Hilfe gesucht!",

  // skills
  "skill.sandbags": "Sandsäcke",
  "skill.first-aid": "Erste Hilfe",
  "skill.driving": "Autofahren",
  "skill.lifting": "Tragen & Heben",
  "skill.cooking": "Kochen",
  "skill.childcare": "Kinderbetreuung",
  "skill.translation": "Übersetzen",

  // organisation sign-in
  "o.signin.heading": "Anmelden",
  "o.signin.token": "Zugangsschlüssel der Organisation",
  "o.signin.hint": "Für Programme und Notfälle. Der Schlüssel bleibt nur in diesem Browser-Tab, bis du ihn schließt.",
  "o.signin.submit": "Anmelden",
  "o.signin.wrong": "Nicht (mehr) angemeldet. Bitte neu anmelden.",
  "o.signin.wrongKey": "Dieser Schlüssel ist nicht gültig.",
  "o.signout": "Abmelden",
  "o.login.email": "E-Mail-Adresse",
  "o.login.password": "Passwort",
  "o.login.wrong": "E-Mail-Adresse oder Passwort ist falsch.",
  "o.login.throttled": "Zu viele Fehlversuche. Bitte in einigen Minuten noch einmal versuchen.",
  "o.login.useToken": "Mit einem API-Zugangsschlüssel anmelden",
  "o.nav.console": "Einsätze verwalten",
  "o.nav.dashboard": "Lagebild",

  // console
  "c.title": "Helferruf – Einsätze",
  "c.new.heading": "Neuer Einsatz",
  "c.f.title": "Titel",
  "c.f.titlePlaceholder": "z. B. Sandsäcke füllen am Rheinufer",
  "c.f.description": "Beschreibung",
  "c.f.descriptionPlaceholder": "Was ist zu tun? Was sollen Helfende mitbringen?",
  "c.f.address": "Treffpunkt (Adresse)",
  "c.f.place": "Ort",
  "c.f.placeHint": "Auf die Karte klicken oder Koordinaten eingeben.",
  "c.f.lat": "Breite (lat)",
  "c.f.lon": "Länge (lon)",
  "c.f.search": "Ort suchen",
  "c.f.searchPlaceholder": "z. B. Köln oder 50.94, 6.96",
  "c.f.radius": "Umkreis",
  "c.f.radiusValue": "{km} km",
  "c.f.needed": "Wie viele Helfende?",
  "c.f.skills": "Benötigte Fähigkeiten",
  "c.f.startsAt": "Beginn",
  "c.f.endsAt": "Ende",
  "c.f.submit": "Einsatz ausrufen",
  "c.f.submitting": "Wird ausgerufen …",
  "c.f.created": "Einsatz „{title}“ ist ausgerufen.",
  "c.f.fixErrors": "Bitte prüfe die markierten Felder.",
  "c.f.required": "Bitte ausfüllen.",
  "c.f.needPlace": "Bitte einen Ort wählen.",
  "c.reach.none": "Wähle einen Ort, um zu sehen, wie viele Helfende erreichbar sind.",
  "c.reach.loading": "Prüfe Reichweite …",
  "c.reach.value": "{available} Helfende jetzt in Reichweite verfügbar",
  "c.reach.connected": "({connected} online im Umkreis)",
  "c.reach.error": "Reichweite gerade nicht abrufbar.",
  "c.list.heading": "Einsätze",
  "c.list.empty": "Noch keine Einsätze.",
  "c.list.showEnded": "Beendete zeigen",
  "c.call.counter": "{confirmed} von {needed} bestätigt",
  "c.call.stats": "{alerted} gerufen · {declined} abgelehnt",
  "c.call.created": "ausgerufen {ago}",
  "c.call.window": "{from} – {to}",
  "c.call.radius": "Umkreis {km} km",
  "c.call.helpers": "Helfende anzeigen",
  "c.call.hideHelpers": "Helfende ausblenden",
  "c.call.csv": "CSV herunterladen",
  "c.call.cancel": "Einsatz absagen",
  "c.call.cancelTitle": "Einsatz absagen?",
  "c.call.cancelText": "Alle gerufenen Helfenden sehen sofort, dass „{title}“ abgesagt ist.",
  "c.call.cancelConfirm": "Ja, absagen",
  "c.call.keep": "Nicht absagen",
  "c.call.noHelpers": "Noch niemand bestätigt.",
  "c.call.helperName": "Name",
  "c.call.helperContact": "Kontakt",
  "c.call.helperAt": "Bestätigt um",
  "c.call.erased": "(gelöscht)",
  "c.csv.name": "Name",
  "c.csv.contact": "Kontakt",
  "c.csv.confirmedAt": "Bestätigt um",

  "status.open": "Offen",
  "status.filled": "Voll",
  "status.cancelled": "Abgesagt",
  "status.expired": "Beendet",

  // dashboard
  "d.title": "Helferruf – Lagebild",
  "d.heading": "Lagebild",
  "d.bigScreen": "Großbild",
  "d.bigScreenOff": "Normale Ansicht",
  "d.empty": "Keine offenen oder kürzlich beendeten Einsätze.",
  "d.overall.label": "Übersicht",
  "d.overall.fill": "Besetzt",
  "d.overall.fillValue": "{pct} %",
  "d.overall.places": "{confirmed} von {needed} Plätzen",
  "d.overall.open": "Offene Einsätze",
  "d.overall.filled": "Voll besetzt",
  "d.overall.alerted": "Gerufen",
  "d.call.alerted": "gerufen",
  "d.call.delivered": "zugestellt",
  "d.call.seen": "gesehen",
  "d.call.declined": "abgelehnt",
  "d.call.confirmed": "bestätigt",
  "d.call.checkedIn": "vor Ort",
  "d.call.standby": "Warteliste",
  "d.call.since": "seit {dur}",
  "d.call.fillTime": "voll nach {dur}",
  "d.call.endedAgo": "beendet {ago}",
  "d.updated": "Stand {time}",

  "err.network": "Keine Verbindung zum Server. Bitte gleich noch einmal versuchen.",
  "err.generic": "Fehler: {message}",
  "err.rate_limited": "Zu viele Anfragen. Bitte kurz warten.",
  "err.unauthorized": "Nicht angemeldet oder Schlüssel ungültig.",

  "time.now": "gerade eben",

  "map.label": "Karte. Pfeiltasten verschieben, Plus und Minus zoomen, Enter setzt den Punkt in der Mitte.",
  "map.noTiles": "Kartenbilder nicht verfügbar. Klicken setzt den Punkt trotzdem.",
};

const en = {
  "app.name": "Helferruf",
  "skip": "Skip to content",
  "lang.switch": "Deutsch",
  "lang.short": "DE",
  "lang.switchLabel": "Auf Deutsch umschalten",

  "conn.connecting": "Connecting …",
  "conn.online": "Connected",
  "conn.offline": "Disconnected",
  "conn.retryIn": "Disconnected – retrying in {s} s",
  "conn.retryNow": "Connect now",
  "conn.browserOffline": "No internet",

  "v.title": "Helferruf – help when it is needed",
  "v.intro": "Keep this page open. When help is needed near you, it rings here. You decide every time whether you come.",
  "v.signup.heading": "Join",
  "v.signup.name": "Your first name or nickname",
  "v.signup.nameHint": "Only organisations you say yes to can see it.",
  "v.signup.skills": "What can you do? (tap, optional)",
  "v.signup.customSkill": "Other skill",
  "v.signup.customSkillPlaceholder": "Other, e.g. chainsaw",
  "v.signup.addSkill": "Add",
  "v.signup.skillInvalid": "Only lower-case letters, digits and hyphens, at most 32 characters.",
  "v.signup.distance": "How far would you travel?",
  "v.signup.distanceValue": "up to {km} km",
  "v.signup.contact": "Phone or e-mail (optional)",
  "v.signup.contactHint": "Only the organisation gets it, when you say yes.",
  "v.signup.submit": "Join",
  "v.signup.busy": "One moment …",
  "v.signup.privacy": "We store your name, skills, distance and contact. We never store your location. You can delete everything at any time.",

  "v.hello": "Hello {name}!",
  "v.step.location": "1. Where are you?",
  "v.step.available": "2. Are you available now?",
  "v.loc.consent": "When you tap “Use my location”, your browser asks for permission. Your location goes to Helferruf only while this page is open, so that we can call you for tasks near you. It is not stored.",
  "v.loc.useGps": "Use my location",
  "v.loc.stopGps": "Stop sharing my location",
  "v.loc.pickMap": "Pick on the map",
  "v.loc.hideMap": "Close map",
  "v.loc.typeLabel": "Or type a place or coordinates",
  "v.loc.typePlaceholder": "e.g. Cologne or 50.94, 6.96",
  "v.loc.set": "Use this",
  "v.loc.none": "No location chosen yet.",
  "v.loc.current": "Your location: {where}",
  "v.loc.gps": "{coords} (GPS, ± {acc} m)",
  "v.loc.gpsWaiting": "Waiting for GPS …",
  "v.loc.gpsDenied": "The browser does not share your location. Pick it on the map or type it.",
  "v.loc.gpsUnavailable": "Location not available right now. Pick it on the map or type it.",
  "v.loc.unknownPlace": "We do not know this place. Type coordinates, e.g. 50.94, 6.96, or pick on the map.",
  "v.loc.mapHint": "Tap the map to set your location.",

  "v.avail.on": "I am available",
  "v.avail.off": "I am not available",
  "v.avail.onHint": "You will be called when help is needed near you.",
  "v.avail.offHint": "Tap when you can help now.",
  "v.avail.needLocation": "Choose your location first.",
  "v.avail.until": "Only until",
  "v.avail.untilValue": "Available until {time}",
  "v.avail.wakeLock": "Keep the screen on while I am available",
  "v.avail.notifyDenied": "Notifications are blocked. Keep this page visible, or allow notifications in your browser settings.",

  "v.alerts.heading": "Help needed",
  "v.alerts.none": "No task right now. We will call you as soon as you are needed.",
  "v.alerts.noneUnavailable": "Switch “available” on to be called.",
  "v.alert.new": "New task: {title}, {distance} away",
  "v.alert.distance": "{km} km away",
  "v.alert.counter": "{confirmed} of {needed} confirmed",
  "v.alert.accept": "I'm coming",
  "v.alert.decline": "Can't make it",
  "v.alert.accepting": "Confirming …",
  "v.alert.full": "Sorry, all places are already taken.",
  "v.alert.filled": "All places taken – thank you!",
  "v.alert.cancelled": "Cancelled",
  "v.alert.expired": "Ended",
  "v.alert.closed": "This task has ended or was cancelled.",
  "v.alert.notEligible": "You cannot accept this task right now.",
  "v.alert.standby": "You are on the waiting list. We will tell you when a place frees up.",
  "v.alert.error": "That did not work. Please try again.",
  "v.alert.skills": "Needed: {skills}",
  "v.alert.by": "by {org}",
  "v.alert.dismiss": "Hide",
  "v.alert.party": "We come as",

  "v.confirmed.heading": "You said yes",
  "v.confirmed.thanks": "Thank you! You are confirmed.",
  "v.confirmed.promoted": "A place became free – you are confirmed now!",
  "v.confirmed.where": "Where",
  "v.alert.when": "When:",
  "v.alert.where": "Where:",
  "v.confirmed.when": "When",
  "v.confirmed.noAddress": "No address given",
  "v.confirmed.withdraw": "I can't come after all",
  "v.confirmed.withdrawn": "You withdrew.",
  "v.confirmed.withdrawSure": "Really withdraw? Tap again",
  "v.confirmed.checkin": "I have arrived",
  "v.confirmed.checkout": "I am leaving now",
  "v.confirmed.checkedIn": "You are checked in.",
  "v.confirmed.gone": "This task has ended or was cancelled.",
  "v.confirmed.messages": "Messages from the organisation",
  "v.confirmed.mapLink": "Open on the map",

  "v.account.heading": "My account",
  "v.account.summary": "{name} · {skills} · up to {km} km",
  "v.account.noSkills": "no skills given",
  "v.account.export": "Download my data",
  "v.account.forget": "Forget me",
  "v.account.forgetTitle": "Delete everything?",
  "v.account.forgetText": "Your account, your name and your contact will be deleted. This cannot be undone.",
  "v.account.forgetConfirm": "Yes, delete everything",
  "v.account.cancel": "Cancel",
  "v.account.forgotten": "Your account has been deleted.",
  "v.account.signedOut": "Your account is no longer known. Please join again.",
  "v.account.edit": "Edit profile",
  "v.account.save": "Save",
  "v.account.saved": "Saved.",

  "v.notify.title": "Helferruf: help needed!",
  "v.notify.body": "{title} – {distance} away",
  "v.titleFlash": "(!) Help needed!",

  "skill.sandbags": "Sandbags",
  "skill.first-aid": "First aid",
  "skill.driving": "Driving",
  "skill.lifting": "Carrying & lifting",
  "skill.cooking": "Cooking",
  "skill.childcare": "Childcare",
  "skill.translation": "Translation",

  "o.signin.heading": "Sign in",
  "o.signin.token": "Organisation access key",
  "o.signin.hint": "For programs and emergencies. The key stays only in this browser tab until you close it.",
  "o.signin.submit": "Sign in",
  "o.signin.wrong": "Not signed in (any more). Please sign in again.",
  "o.signin.wrongKey": "This key is not valid.",
  "o.signout": "Sign out",
  "o.login.email": "E-mail address",
  "o.login.password": "Password",
  "o.login.wrong": "Wrong e-mail address or password.",
  "o.login.throttled": "Too many failed attempts. Please try again in a few minutes.",
  "o.login.useToken": "Sign in with an API access key",
  "o.nav.console": "Manage calls",
  "o.nav.dashboard": "Live board",

  "c.title": "Helferruf – calls",
  "c.new.heading": "New call",
  "c.f.title": "Title",
  "c.f.titlePlaceholder": "e.g. Fill sandbags at the riverside",
  "c.f.description": "Description",
  "c.f.descriptionPlaceholder": "What is to be done? What should helpers bring?",
  "c.f.address": "Meeting point (address)",
  "c.f.place": "Place",
  "c.f.placeHint": "Click the map or type coordinates.",
  "c.f.lat": "Latitude",
  "c.f.lon": "Longitude",
  "c.f.search": "Find place",
  "c.f.searchPlaceholder": "e.g. Cologne or 50.94, 6.96",
  "c.f.radius": "Radius",
  "c.f.radiusValue": "{km} km",
  "c.f.needed": "How many helpers?",
  "c.f.skills": "Skills needed",
  "c.f.startsAt": "Starts",
  "c.f.endsAt": "Ends",
  "c.f.submit": "Post call",
  "c.f.submitting": "Posting …",
  "c.f.created": "Call “{title}” is posted.",
  "c.f.fixErrors": "Please check the marked fields.",
  "c.f.required": "Please fill this in.",
  "c.f.needPlace": "Please choose a place.",
  "c.reach.none": "Choose a place to see how many helpers you can reach.",
  "c.reach.loading": "Checking reach …",
  "c.reach.value": "{available} helpers available in range now",
  "c.reach.connected": "({connected} online in the area)",
  "c.reach.error": "Reach not available right now.",
  "c.list.heading": "Calls",
  "c.list.empty": "No calls yet.",
  "c.list.showEnded": "Show ended",
  "c.call.counter": "{confirmed} of {needed} confirmed",
  "c.call.stats": "{alerted} alerted · {declined} declined",
  "c.call.created": "posted {ago}",
  "c.call.window": "{from} – {to}",
  "c.call.radius": "radius {km} km",
  "c.call.helpers": "Show helpers",
  "c.call.hideHelpers": "Hide helpers",
  "c.call.csv": "Download CSV",
  "c.call.cancel": "Cancel call",
  "c.call.cancelTitle": "Cancel this call?",
  "c.call.cancelText": "Every alerted helper sees at once that “{title}” is cancelled.",
  "c.call.cancelConfirm": "Yes, cancel",
  "c.call.keep": "Keep it",
  "c.call.noHelpers": "Nobody confirmed yet.",
  "c.call.helperName": "Name",
  "c.call.helperContact": "Contact",
  "c.call.helperAt": "Confirmed at",
  "c.call.erased": "(erased)",
  "c.csv.name": "Name",
  "c.csv.contact": "Contact",
  "c.csv.confirmedAt": "Confirmed at",

  "status.open": "Open",
  "status.filled": "Filled",
  "status.cancelled": "Cancelled",
  "status.expired": "Ended",

  "d.title": "Helferruf – live board",
  "d.heading": "Live board",
  "d.bigScreen": "Big screen",
  "d.bigScreenOff": "Normal view",
  "d.empty": "No open or recently ended calls.",
  "d.overall.label": "Overview",
  "d.overall.fill": "Filled",
  "d.overall.fillValue": "{pct} %",
  "d.overall.places": "{confirmed} of {needed} places",
  "d.overall.open": "Open calls",
  "d.overall.filled": "Fully staffed",
  "d.overall.alerted": "Alerted",
  "d.call.alerted": "alerted",
  "d.call.delivered": "delivered",
  "d.call.seen": "seen",
  "d.call.declined": "declined",
  "d.call.confirmed": "confirmed",
  "d.call.checkedIn": "on site",
  "d.call.standby": "standby",
  "d.call.since": "for {dur}",
  "d.call.fillTime": "filled after {dur}",
  "d.call.endedAgo": "ended {ago}",
  "d.updated": "As of {time}",

  "err.network": "No connection to the server. Please try again in a moment.",
  "err.generic": "Error: {message}",
  "err.rate_limited": "Too many requests. Please wait a moment.",
  "err.unauthorized": "Not signed in or key not valid.",

  "time.now": "just now",

  "map.label": "Map. Arrow keys move, plus and minus zoom, Enter sets the point in the middle.",
  "map.noTiles": "Map images unavailable. Clicking still sets the point.",
};

export const dictionaries = { de, en };

const STORAGE_KEY = "helferruf.lang";
const listeners = new Set();

function initialLang() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored && dictionaries[stored]) return stored;
  } catch { /* storage blocked */ }
  return "de";
}

let current = initialLang();

export function lang() {
  return current;
}

/** BCP 47 locale for Intl formatting. */
export function locale() {
  return current === "de" ? "de-DE" : "en-GB";
}

export function t(key, params) {
  let s = dictionaries[current][key];
  if (s === undefined) s = dictionaries.de[key];
  if (s === undefined) return key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }
  return s;
}

/** Label of a skill slug; custom slugs are shown as they are. */
export function skillLabel(slug) {
  const key = "skill." + slug;
  return key in dictionaries[current] ? dictionaries[current][key] : slug;
}

/** Apply data-i18n / data-i18n-attr below root. */
export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  const other = current === "de" ? "en" : "de";
  for (const b of document.querySelectorAll(".lang-btn")) b.lang = other;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  const titleKey = document.body && document.body.dataset.titleKey;
  if (titleKey) document.title = t(titleKey);
}

export function setLang(next) {
  if (!dictionaries[next] || next === current) return;
  current = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* ignore */ }
  applyTranslations();
  for (const fn of listeners) fn(current);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

/** Wire a button that toggles between German and English. */
export function bindLangSwitch(button) {
  if (!button) return;
  button.addEventListener("click", () => setLang(current === "de" ? "en" : "de"));
}
