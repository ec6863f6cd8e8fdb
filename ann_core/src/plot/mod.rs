//! Figures drawn with plotters: every plot function returns a [`Figure`] that shows
//! inline in Jupyter (evcxr) and saves as PNG or SVG.
