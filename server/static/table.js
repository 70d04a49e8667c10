// Sortable, filterable tables: click a column header to sort (again to reverse), type in
// the filter box to keep only matching rows. The table is complete without JavaScript.
document.querySelectorAll("table.sortable").forEach((table) => {
  const body = table.tBodies[0];
  table.querySelectorAll("th[data-sort]").forEach((header, column) => {
    header.tabIndex = 0;
    header.setAttribute("aria-sort", "none");
    const sort = () => {
      const ascending = header.getAttribute("aria-sort") !== "ascending";
      const numeric = header.dataset.sort === "number";
      const key = (row) => row.cells[column].textContent.trim();
      const rows = Array.from(body.rows).sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = numeric ? (Number(x) || 0) - (Number(y) || 0) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      table.querySelectorAll("th[data-sort]").forEach((h) => h.setAttribute("aria-sort", "none"));
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      rows.forEach((row) => body.appendChild(row));
    };
    header.addEventListener("click", sort);
    header.addEventListener("keydown", (event) => { if (event.key === "Enter") sort(); });
  });
});

document.querySelectorAll("input[data-filter]").forEach((input) => {
  const table = document.getElementById(input.dataset.filter);
  input.addEventListener("input", () => {
    const needle = input.value.trim().toLocaleLowerCase();
    Array.from(table.tBodies[0].rows).forEach((row) => {
      row.hidden = needle !== "" && !row.textContent.toLocaleLowerCase().includes(needle);
    });
  });
});
