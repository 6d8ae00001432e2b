// Back on the board after a move made from a card (its Claim button sends the card's address):
// the keyboard's place is that card, not the top of the page. Once the page has loaded, as the
// browser's own move to the address's card comes first and would take the focus back.
const card = window.location.hash.startsWith("#card-") && document.getElementById(window.location.hash.slice(1));
if (card) window.addEventListener("load", () => card.querySelector("button, a").focus());
