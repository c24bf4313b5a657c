// The demo page's entry: defines <latent-app> and, through it, every component.
import "./latent-app.js";
