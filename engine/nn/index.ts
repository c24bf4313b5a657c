export { Module } from "./module.js";
export { Linear, Sequential, ReLU, Tanh, Sigmoid, SiLU, GELU, Softplus, LeakyReLU, Activation, type LayerOptions } from "./linear.js";
export { uniformInit, normalInit, zerosInit, onesInit, kaimingUniform, kaimingNormal, xavierUniform, xavierNormal } from "./init.js";
export { Conv2d, ConvTranspose2d, MaskedConv2d, type ConvModuleOptions, type ConvTransposeModuleOptions } from "./conv.js";
export { BatchNorm2d, LayerNorm, GroupNorm, ActNorm, type NormOptions } from "./norm.js";
export { Dropout, Embedding, SpectralNorm, spectralNorm, WeightNorm, weightNorm } from "./misc.js";
