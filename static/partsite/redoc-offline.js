// ReDoc's sidebar always shows its maker's logo from cdn.redoc.ly, and no setting turns it off.
// Partsite's docs load nothing from the internet: on this page only, an image pointed at
// another site is left without its address, and hidden.
function elsewhere(value) {
  return !String(value).startsWith("data:") && new URL(value, document.baseURI).origin !== window.location.origin;
}

const setAttribute = Element.prototype.setAttribute;
Element.prototype.setAttribute = function setAttributeSameOrigin(name, value) {
  if (this instanceof HTMLImageElement && name.toLowerCase() === "src" && elsewhere(value)) {
    this.hidden = true;
    return undefined;
  }
  return setAttribute.call(this, name, value);
};

const source = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
Object.defineProperty(HTMLImageElement.prototype, "src", {
  ...source,
  set(value) {
    if (elsewhere(value)) {
      this.hidden = true;
      return;
    }
    source.set.call(this, value);
  },
});
