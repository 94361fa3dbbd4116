from capitulation.cli import main

main()
