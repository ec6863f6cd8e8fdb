//! Small, seeded experiments behind the course's figures (gradient flow, optimizer paths,
//! learning-rate sweeps, ...): each returns plain data that a plot function draws.
