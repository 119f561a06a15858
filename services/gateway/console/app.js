// The CTG console: pages in French for the people who run the convention, calling the services
// through the gateway's Connect listener with the clients protoc-gen-es generates. This file is
// the page around the screens; each screen (screens/*.js) is loaded when it is first shown, so a
// page loads only its own service's client (the bundler splits them into chunks).
import { h, render } from "preact";
import { html, currentToken, dropToken } from "./common.js";
import { SignIn, completeProviderSignIn } from "./signin.js";

// Each route's screen: its module, the component it exports and its properties.
function screenOf(route) {
  if (route === "suivi") return [() => import("./screens/suivi.js"), "Dashboard", {}];
  if (route.startsWith("action/")) {
    return [() => import("./screens/suivi.js"), "ActionPage", { id: route.slice(7) }];
  }
  if (route === "indicateurs") return [() => import("./screens/indicateurs.js"), "Indicators", {}];
  if (route === "bilans") return [() => import("./screens/bilans.js"), "Bilans", {}];
  if (route === "echanges") return [() => import("./screens/echanges.js"), "Exchanges", {}];
  if (route.startsWith("echange/")) {
    return [() => import("./screens/echanges.js"), "ExchangePage", { id: route.slice(8) }];
  }
  return [() => import("./screens/convention.js"), "Convention", {}];
}

function signOut() {
  dropToken();
  providerFailure = "";
  location.hash = "";
  rerender();
}

function Page({ route, screen }) {
  return html`
    <nav aria-label="Console">
      <ul class="menu">
        <li><a href="#convention" aria-current=${route === "" || route === "convention" ? "page" : undefined}>Convention</a></li>
        <li><a href="#suivi" aria-current=${route === "suivi" ? "page" : undefined}>Tableau de suivi</a></li>
        <li><a href="#indicateurs" aria-current=${route === "indicateurs" ? "page" : undefined}>Indicateurs</a></li>
        <li><a href="#bilans" aria-current=${route === "bilans" ? "page" : undefined}>Bilans</a></li>
        <li><a href="#echanges" aria-current=${route === "echanges" ? "page" : undefined}>Échanges de données</a></li>
        <li><button type="button" onClick=${signOut}>Se déconnecter</button></li>
      </ul>
    </nav>
    ${screen}
  `;
}

// Why the last return from the identity provider did not sign in ("" when it did, or none).
let providerFailure = "";
// The latest rerender: an earlier one whose screen arrives later is dropped.
let shown = 0;

// Shows the page of the current route: the sign-in page without a token, else the route's
// screen, once its module is loaded (the same one is not loaded twice).
async function rerender() {
  const ticket = ++shown;
  const main = document.getElementById("contenu");
  if (!currentToken()) {
    render(html`<${SignIn} key=${ticket} failure=${providerFailure} onSignedIn=${rerender} />`, main);
    return;
  }
  const route = location.hash.slice(1);
  const [load, component, props] = screenOf(route);
  let screen;
  try {
    screen = h((await load())[component], props);
  } catch (error) {
    screen = html`<p class="erreur" role="alert">Cette page n'a pas pu être chargée : rechargez-la.</p>`;
  }
  if (ticket !== shown) return;
  render(html`<${Page} key=${ticket} route=${route} screen=${screen} />`, main);
}

window.addEventListener("hashchange", () => rerender());
completeProviderSignIn().then((failure) => {
  providerFailure = failure;
  rerender();
});
