console.log("keel static asset");
