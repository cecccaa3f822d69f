// What the officer reads: each verdict code as a headline and an action, read in two seconds, and
// the item's facts and dates in the officer's own language and locale.
"use strict";

const Wording = (() => {
  // tone: "alarm" detain, "warn" hold, "ok" release
  const VERDICTS = {
    VALID: ["No problem found", "Release the item.", "ok"],
    SERIAL_NOT_AUTHENTICATED: ["Serial registered, label not checked", "Compare the item with the facts below; scan its code if you can.", "warn"],
    MALFORMED_CODE: ["Code unreadable or damaged", "Hold the item. Type the serial printed on it below.", "warn"],
    UNKNOWN_ITEM: ["Not in the register", "Hold the item. Call the marking authority.", "warn"],
    FOREIGN_LOG: ["Issued by an unknown log", "Hold the item. Ask the issuing country's authority.", "warn"],
    PEER_UNREACHABLE: ["Issuing country's log not answering", "Hold the item. Detain it if the last answer below flags it.", "warn"],
    STALE_STATUS: ["Issuing country's answer too old", "Hold the item. Call the issuing country's authority.", "warn"],
    SIGNATURE_INVALID: ["Fake or altered label", "Detain the item. Call the police.", "alarm"],
    KEY_REVOKED: ["Label signed with a stolen key", "Hold the item. Call the marking authority.", "alarm"],
    MARKING_MISMATCH: ["Item does not match its marking", "Hold the item.", "warn"],
    REPORTED_LOST_STOLEN: ["Reported lost or stolen", "Detain the item. Call the police.", "alarm"],
    SEIZED: ["Under seizure", "Detain the item. Call the seizing authority.", "alarm"],
    DESTROYED_DEACTIVATED: ["Recorded as destroyed", "Detain the item. Call the police.", "alarm"],
    CLONE_SUSPECTED: ["Possible copied label", "Detain the item. Call the police: this label was just seen in another country.", "alarm"],
    CUSTODY_MISMATCH: ["Not expected here", "Hold the item: the register does not show it moving this way.", "warn"],
    LICENCE_INVALID: ["Holder not licensed", "Hold the item: its holder has no valid licence today.", "warn"],
    PERMIT_MISSING: ["No permit", "Hold the shipment: no permit covers it.", "warn"],
    PERMIT_NOT_YET_VALID: ["Permit not valid yet", "Hold the shipment.", "warn"],
    PERMIT_EXPIRED: ["Permit expired", "Hold the shipment.", "warn"],
    PERMIT_CANCELLED: ["Permit cancelled", "Hold the shipment. Call the permit authority.", "alarm"],
    QUANTITY_EXHAUSTED: ["Permit quantity used up", "Hold the shipment.", "warn"],
    ROUTE_COUNTRY_MISMATCH: ["Wrong route for the permit", "Hold the shipment: this country or destination is not on the permit.", "warn"],
  };

  const FACTS = {
    serial: "Serial", make: "Make", model: "Model", maker_code: "Maker code", calibre: "Calibre", category: "Category",
    species: "Species", species_code: "Species code", quantity: "Quantity", unit: "Unit", kind: "Tag",
    country: "Made in", country_of_origin: "Origin", year: "Year", description: "Description", import_marking: "Import marking",
  };
  const COUNTRY_FACTS = new Set(["country", "country_of_origin"]);
  const STATUS = { in_transit: "in transit", active: "held by its owner or dealer" };

  const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const regions = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(undefined, { type: "region" }) : null;

  /** [headline, action, tone] of a verdict; one the page does not know yet reads as the API's advice. */
  function verdict(code, advice) {
    return VERDICTS[code] || [code.replaceAll("_", " ").toLowerCase().replace(/^./, (c) => c.toUpperCase()), advice || "", "warn"];
  }

  function date(text) {
    const parsed = new Date(text);
    return Number.isNaN(parsed.getTime()) ? String(text) : when.format(parsed);
  }

  function country(code) {
    try { return (regions && regions.of(code)) || code; } catch (e) { return code; }
  }

  /** A fact's value as a sentence part: no brackets, braces or quotes. */
  function value(name, raw) {
    if (raw === null || raw === undefined) return "";
    if (COUNTRY_FACTS.has(name)) return country(String(raw));
    if (Array.isArray(raw)) return raw.map((v) => value(name, v)).join(", ");
    if (typeof raw === "object") {
      return Object.entries(raw).map(([k, v]) => `${(FACTS[k] || k.replaceAll("_", " ")).toLowerCase()} ${value(k, v)}`).join(", ");
    }
    return String(raw);
  }

  /** The facts an officer compares with the item: serial first, then what the marking says, then status. */
  function facts(item, status) {
    const rows = [["Serial", item.serial]];
    for (const [name, raw] of Object.entries(item.facts || {})) {
      if (name !== "serial") rows.push([FACTS[name] || name.replaceAll("_", " "), value(name, raw)]);
    }
    if (item.permit_number) rows.push(["Permit", item.permit_number]);
    rows.push(["Status", STATUS[status] || String(status).replaceAll("_", " ")]);
    return rows;
  }

  return { verdict, date, country, facts };
})();
