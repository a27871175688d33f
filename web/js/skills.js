// Skill chips: tappable toggle buttons for common slugs plus custom slugs.

import { t, skillLabel, onLangChange } from "./i18n.js";
import { el, clear } from "./util.js";

export const COMMON_SKILLS = ["sandbags", "first-aid", "driving", "lifting", "cooking", "childcare", "translation"];
export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MAX_SKILLS = 20;

/** Turn free text into a slug candidate ("Kettensäge" → "kettensaege"). */
export function slugify(text) {
  return text.trim().toLowerCase()
    .replace(/ä/g, "ae").replace(/ö/g, "oe").replace(/ü/g, "ue").replace(/ß/g, "ss")
    .normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").replace(/-{2,}/g, "-");
}

export class SkillPicker {
  /**
   * @param {HTMLElement} chipsBox container for the chips (a role="group")
   * @param {HTMLInputElement} customInput text input for a custom slug
   * @param {HTMLButtonElement} addButton button that adds the custom slug
   * @param {HTMLElement} errorBox where an invalid custom slug is reported
   * @param {() => void} onChange called after every change
   */
  constructor(chipsBox, customInput, addButton, errorBox, onChange = () => {}) {
    this.box = chipsBox;
    this.input = customInput;
    this.errorBox = errorBox;
    this.onChange = onChange;
    this.options = [...COMMON_SKILLS];
    this.selected = new Set();
    const add = () => this._addCustom();
    addButton.addEventListener("click", add);
    customInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        add();
      }
    });
    onLangChange(() => this.render());
    this.render();
  }

  get value() {
    return [...this.selected];
  }

  set value(slugs) {
    this.selected = new Set(slugs || []);
    for (const s of this.selected) if (!this.options.includes(s)) this.options.push(s);
    this.render();
  }

  _addCustom() {
    const slug = slugify(this.input.value);
    if (!slug) return;
    if (!SLUG_RE.test(slug) || (this.selected.size >= MAX_SKILLS && !this.selected.has(slug))) {
      this.errorBox.textContent = t("v.signup.skillInvalid");
      this.errorBox.hidden = false;
      this.input.setAttribute("aria-invalid", "true");
      return;
    }
    this.errorBox.hidden = true;
    this.input.removeAttribute("aria-invalid");
    if (!this.options.includes(slug)) this.options.push(slug);
    this.selected.add(slug);
    this.input.value = "";
    this.render();
    this.onChange();
  }

  render() {
    clear(this.box);
    for (const slug of this.options) {
      const on = this.selected.has(slug);
      this.box.append(el("button", {
        type: "button",
        class: "chip",
        "aria-pressed": on ? "true" : "false",
        dataset: { skill: slug },
        onclick: () => {
          if (this.selected.has(slug)) this.selected.delete(slug);
          else if (this.selected.size < MAX_SKILLS) this.selected.add(slug);
          this.render();
          this.box.querySelector(`[data-skill="${slug}"]`)?.focus();
          this.onChange();
        },
      }, skillLabel(slug)));
    }
  }
}
