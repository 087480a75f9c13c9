-- pgscreen upgrade script 0.1.0 → 0.2.0: brings an installed 0.1.0 to what pgscreen.sql installs, keeping data.
\echo Use "ALTER EXTENSION pgscreen UPDATE TO '0.2.0'" to load this file. \quit
