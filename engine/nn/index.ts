export { Module } from "./module.js";
export { Linear, Sequential, ReLU, Tanh, Sigmoid, SiLU, GELU, Softplus, LeakyReLU, Activation, type LayerOptions } from "./linear.js";
export { uniformInit, normalInit, zerosInit, onesInit, kaimingUniform, kaimingNormal, xavierUniform, xavierNormal } from "./init.js";
